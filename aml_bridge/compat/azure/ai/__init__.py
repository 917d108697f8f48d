"""`azure.ai`: a shared namespace too (azure-ai-* distributions); only `azure.ai.ml` is ours."""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
