"""Logs 10,000 values, says so, then waits to be killed."""

import os
import time

from azureml.core import Run

run = Run.get_context()
for i in range(10000):
    run.log("loss", i)
print("LOGGED", os.getpid(), flush=True)
time.sleep(120)
