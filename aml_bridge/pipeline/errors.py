"""Pipeline definition errors. Azure raises plain `ValueError`/`Exception` here; ours subclass both
those and `AmlBridgeError`, so Azure-style `except ValueError` and ours both work."""

from __future__ import annotations

from ..errors import AmlBridgeError


class PipelineDefinitionError(AmlBridgeError, ValueError):
    """An invalid step, port, argument or graph; the message names the step and the field."""


class PipelineParameterError(AmlBridgeError):
    """A pipeline parameter is unknown, clashes, or has two defaults (Azure: plain `Exception`)."""


class PipelineParameterTypeError(AmlBridgeError, TypeError):
    """A submitted value does not fit the parameter (e.g. a dataset of the other kind)."""


__all__ = ["PipelineDefinitionError", "PipelineParameterError", "PipelineParameterTypeError"]
