"""`azureml_user`: the package Azure's parallel driver puts on an entry script's path (not on PyPI).

Entry scripts import `from azureml_user.parallel_run import EntryScript`; aml-bridge workers have
the compat folder on `sys.path`, so the same import works unchanged.
"""
