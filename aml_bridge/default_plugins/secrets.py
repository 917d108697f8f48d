"""Secrets from the process environment: the fallback behind any secret store plugin.

Azure Key Vault names allow `-`; environment names don't, so `my-secret` is also looked up
as `MY_SECRET`.
"""

from __future__ import annotations

import os
import re

from ..hookspecs import hookimpl
from ..settings import WorkspaceConfig


@hookimpl(trylast=True)
def aml_get_secret(workspace: WorkspaceConfig, name: str) -> str | None:
    for candidate in (name, re.sub(r"\W", "_", name).upper()):
        if candidate in os.environ:
            return os.environ[candidate]
    return None
