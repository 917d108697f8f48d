"""aml-bridge's stand-in for Azure ML SDK v1's `azureml` namespace (see `aml_bridge.compat`)."""
