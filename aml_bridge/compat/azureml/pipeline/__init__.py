"""`azureml.pipeline` on aml-bridge (see `aml_bridge.pipeline`)."""
