"""The Python SDK: Client, AsyncClient, their models and errors.

Import from `simgate` (the public names live there); the modules in here are
private. Nothing in this package imports the server's dependencies.
"""

from simgate.client._async import AsyncClient
from simgate.client._client import Client
from simgate.client._errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequest,
    InvalidRequest,
    InvalidState,
    LicenseRequired,
    MissingField,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    UnexpectedResponse,
)
from simgate.client._models import CallResult, Contact, ContactResult, SentSms, Sms

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "ApiTimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "CallResult",
    "Client",
    "Contact",
    "ContactResult",
    "InvalidRequest",
    "InvalidState",
    "LicenseRequired",
    "MissingField",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "SentSms",
    "ServerError",
    "Sms",
    "UnexpectedResponse",
]
