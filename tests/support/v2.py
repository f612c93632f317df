"""Calling the v2 API in tests: straight HTTP, and the official `insim` client."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.support import http_client

INSIM = shutil.which("insim") or str(Path(sys.executable).with_name("insim"))


def call(base_url: str, account: dict[str, Any], endpoint: str, **fields: Any) -> httpx.Response:
    """POST /api/v2/<endpoint> with the account's credentials beside `fields`."""
    body = {"login": account["login"], "accessKey": account["accessKey"], **fields}
    return http_client.post(f"{base_url}/api/v2/{endpoint}", json=body, timeout=30)


def ok(base_url: str, account: dict[str, Any], endpoint: str, **fields: Any) -> dict[str, Any]:
    """The answer of a call that must succeed (200, `success: true`)."""
    response = call(base_url, account, endpoint, **fields)
    body = response.json()
    assert response.status_code == 200 and body.get("success") is True, (
        endpoint,
        response.status_code,
        body,
    )
    return body


def refused(
    base_url: str, account: dict[str, Any], endpoint: str, status: int, code: str, **fields: Any
) -> dict[str, Any]:
    """The answer of a call that must fail with `status` and `error_code` `code`."""
    response = call(base_url, account, endpoint, **fields)
    body = response.json()
    assert response.status_code == status and body.get("success") is False, (
        endpoint,
        response.status_code,
        body,
    )
    assert body["error_code"] == code and isinstance(body["error"], str) and body["error"], body
    return body


def insim(
    base_url: str,
    account: dict[str, Any],
    *args: str,
    home: Path,
    json_mode: bool = True,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the official client (`insim [--json] ARGS`) against `base_url`, with
    the credentials in its environment and a HOME of its own (it keeps a
    credentials file there)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "INSIM_BASE_URL": base_url,
        "INSIM_LOGIN": account["login"],
        "INSIM_ACCESS_KEY": account["accessKey"],
        "NO_PROXY": "*",
        "LANG": "C.UTF-8",
    }
    argv = [INSIM, *(["--json"] if json_mode else []), *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=90, input=stdin)


def insim_json(base_url: str, account: dict[str, Any], *args: str, home: Path) -> Any:
    """`insim --json ARGS`, which must exit 0; its output parsed."""
    done = insim(base_url, account, *args, home=home)
    assert done.returncode == 0, (args, done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout)


def other_account(server: Any) -> dict[str, Any]:
    """A second account on `server` (a LiveServer), to show that ids of one
    account are NOT_FOUND to another."""
    from simgate.services.accounts import create_account

    acc, key = create_account(
        server.engine, f"{secrets.token_hex(5)}@example.com", "Europe/Paris", "FR"
    )
    return {"login": acc.email, "accessKey": key, "id": acc.id}
