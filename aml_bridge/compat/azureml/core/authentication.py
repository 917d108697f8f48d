from aml_bridge.authentication import (
    AbstractAuthentication,
    AzureCliAuthentication,
    InteractiveLoginAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
    TokenAuthentication,
)

__all__ = [
    "AbstractAuthentication", "AzureCliAuthentication", "InteractiveLoginAuthentication", "MsiAuthentication",
    "ServicePrincipalAuthentication", "TokenAuthentication",
]
