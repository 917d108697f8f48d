"""`azure.ai.ml` (SDK v2) on aml-bridge: `Input`, `Output` and the `parallel` package.

Deliberately not a namespace: mixing our modules with a real azure-ai-ml's would be worse than
a clear ImportError for what aml-bridge does not provide.
"""

from aml_bridge.parallel import Input, Output

__all__ = ["Input", "Output"]
