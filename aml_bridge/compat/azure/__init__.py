"""The `azure` namespace for unchanged v2 scripts: aml-bridge provides only `azure.ai.ml`.

`azure` is a namespace shared by many distributions (azure-core, azure-storage-blob, ...), so this
portion extends its path: with the compat folder first on `sys.path`, every other installed
`azure.*` package stays importable.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
