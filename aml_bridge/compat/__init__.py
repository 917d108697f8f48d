"""The `azureml` import package for unchanged scripts, kept out of site-packages on purpose.

Only processes aml-bridge launches get this folder on their `PYTHONPATH`, so `import azureml`
there resolves to aml-bridge while a real `azureml-core` installed elsewhere is never shadowed.
"""

from __future__ import annotations

import os


def path() -> str:
    """The folder to prepend to a launched process's `PYTHONPATH` (it holds `azureml/`)."""
    return os.path.dirname(os.path.abspath(__file__))


__all__ = ["path"]
