"""simgate: a self-hosted SMS and call gateway speaking the inSIM HTTP API.

`import simgate` gives the SDK only (httpx, no server dependencies); server
modules are imported by path.

    import simgate

    with simgate.Client(login, access_key, base_url="http://127.0.0.1:8000") as client:
        client.send_sms([simgate.Sms("+33612345678", "Hello")])
"""

import simgate.v2 as v2
import simgate.webhooks as webhooks
from simgate.client import (
    ApiConnectionError,
    ApiError,
    ApiTimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequest,
    CallResult,
    Client,
    Contact,
    ContactResult,
    InvalidRequest,
    InvalidState,
    LicenseRequired,
    MissingField,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SentSms,
    ServerError,
    Sms,
    UnexpectedResponse,
)
from simgate.client._version import __version__

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
    "__version__",
    "v2",
    "webhooks",
]
