"""The SDK's public surface: what `import simgate` gives, and what it does not load."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import simgate
from simgate import webhooks

SERVER_PACKAGES = {"fastapi", "sqlalchemy", "uvicorn", "starlette", "alembic", "phonenumbers"}


def test_import_is_light() -> None:
    code = (
        "import json, sys, simgate\n"
        "simgate.Client('a@b.c', 'k', base_url='http://127.0.0.1:9')\n"
        "simgate.webhooks.parse('status=%7B%7D') if False else None\n"
        "import simgate.client.cli\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert "httpx" in loaded
    assert not loaded & SERVER_PACKAGES


# Modules the SDK and the server share: the SDK installs without the server's
# dependencies, so these may import the standard library only.
SHARED = ("_wire.py", "_contacts_csv.py")


@pytest.mark.parametrize("name", SHARED)
def test_shared_modules_import_the_standard_library_only(name: str) -> None:
    tree = ast.parse((Path(simgate.__file__).parent / name).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert not outside, outside


def test_exports_are_sorted_and_stable() -> None:
    assert simgate.__all__ == sorted(simgate.__all__)
    assert set(simgate.__all__) == {
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
    }
    assert all(hasattr(simgate, name) for name in simgate.__all__)
    assert simgate.__version__ == "0.1.0"
    assert simgate.v2.__all__ == sorted(simgate.v2.__all__)
    assert all(hasattr(simgate.v2, name) for name in simgate.v2.__all__)
    assert webhooks.__all__ == sorted(webhooks.__all__)
    assert all(hasattr(webhooks, name) for name in webhooks.__all__)


def test_error_tree() -> None:
    for cls in (
        simgate.BadRequest,
        simgate.AuthenticationError,
        simgate.PayloadTooLarge,
        simgate.ServerError,
        simgate.UnexpectedResponse,
        simgate.ApiConnectionError,
        simgate.NotFound,
        simgate.InvalidRequest,
        simgate.InvalidState,
        simgate.RateLimited,
        simgate.LicenseRequired,
    ):
        assert issubclass(cls, simgate.ApiError)
    assert issubclass(simgate.ApiTimeoutError, simgate.ApiConnectionError)
    assert issubclass(simgate.MissingField, simgate.InvalidRequest)
    assert issubclass(webhooks.InvalidSignature, webhooks.InvalidWebhook)
    assert issubclass(webhooks.InvalidWebhook, ValueError)


def test_client_repr_hides_the_key() -> None:
    client = simgate.Client("me@example.com", "secret-key-123", base_url="http://127.0.0.1:9/")
    assert "secret-key-123" not in repr(client) and "me@example.com" in repr(client)
    assert client.base_url == "http://127.0.0.1:9"
    client.close()
