"""`azureml.train` on aml-bridge: the deprecated estimators."""
