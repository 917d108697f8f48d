"""Azure's authentication classes: they construct with any arguments and authenticate nothing.

Notebooks build one and pass it to `Workspace(...)` or put its header on a REST call; the
stores aml-bridge talks to have their own credentials (MLflow, S3, Airflow connections), so
the header is empty. Arguments are kept as attributes for code that reads them back.
"""

from __future__ import annotations

from typing import Any


class AbstractAuthentication:
    """Base class; `get_authentication_header()` is `{}` because no Azure service is called."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        for key, value in kwargs.items():
            setattr(self, key, value)

    def get_authentication_header(self) -> dict[str, str]:
        return {}

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """An empty token: nothing checks it."""
        return _AccessToken("", 0)

    def signed_session(self, session: Any = None) -> Any:
        return session


class InteractiveLoginAuthentication(AbstractAuthentication):
    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(force=force, tenant_id=tenant_id, cloud=cloud, **kwargs)


class ServicePrincipalAuthentication(AbstractAuthentication):
    def __init__(self, tenant_id: str | None = None, service_principal_id: str | None = None,
                 service_principal_password: str | None = None, cloud: str = "AzureCloud",
                 **kwargs: Any) -> None:
        # The password is not kept: nothing needs it, and it must not leak into reprs or dumps.
        super().__init__(tenant_id=tenant_id, service_principal_id=service_principal_id, cloud=cloud, **kwargs)


class AzureCliAuthentication(AbstractAuthentication):
    def __init__(self, cloud: str | None = None, **kwargs: Any) -> None:
        super().__init__(cloud=cloud, **kwargs)


class MsiAuthentication(AbstractAuthentication):
    def __init__(self, cloud: str | None = None, identity_config: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(cloud=cloud, identity_config=identity_config, **kwargs)


class TokenAuthentication(AbstractAuthentication):
    def __init__(self, get_token_for_audience: Any = None, **kwargs: Any) -> None:
        super().__init__(get_token_for_audience=get_token_for_audience, **kwargs)


class _AccessToken(tuple):
    """`azure.core.credentials.AccessToken`'s shape: `(token, expires_on)`."""

    def __new__(cls, token: str, expires_on: int) -> _AccessToken:
        return super().__new__(cls, (token, expires_on))

    token = property(lambda self: self[0])
    expires_on = property(lambda self: self[1])


__all__ = [
    "AbstractAuthentication", "AzureCliAuthentication", "InteractiveLoginAuthentication", "MsiAuthentication",
    "ServicePrincipalAuthentication", "TokenAuthentication",
]
