"""SIMGATE_LOG_FORMAT=json and request ids.

A real `simgate serve` process with JSON logs and the access log on: every
line it writes, uvicorn's included, is one JSON object; a request's lines
name its request id (the client's, or one made) and its account; no key or
password reaches the log. In process: the formatter's fields, and the
X-Request-ID answer on the short way in, on FastAPI's routes and on errors.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from simgate import logs
from simgate.api import fast
from simgate.app import create_app
from simgate.config import Settings
from simgate.runtime import runtime_of
from simgate.services.accounts import create_account
from simgate.store.db import make_engine
from tests.support.servers import LiveServer, ServerProcess

HEX_ID = re.compile(r"^[0-9a-f]{16,}$")


@pytest.fixture(scope="module")
def sqlite_settings(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Settings:
    data_dir = tmp_path_factory.mktemp("logs") / "data"
    data_dir.mkdir()
    shutil.copyfile(sqlite_template, data_dir / "simgate.db")
    return Settings(data_dir=data_dir)


@pytest.fixture(scope="module")
def live(sqlite_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(sqlite_settings) as server:
        yield server


def sendsms(url: str, login: str, key: str, **kw: Any) -> httpx.Response:
    body = {"header": {"login": login, "accessKey": key}, "messages": [
        {"phone_number": "+33612000001", "message": "secret body text"}
    ]}  # fmt: skip
    return httpx.post(url + "/api/v1/sendsms", json=body, timeout=30, **kw)


def test_json_lines_from_a_real_server(sqlite_settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(sqlite_settings)
    account, key = create_account(engine, "logs@example.com", "Europe/Paris", "FR")
    engine.dispose()
    log_path = tmp_path / "server.log"
    server = ServerProcess(
        sqlite_settings, "--access-log", env={"SIMGATE_LOG_FORMAT": "json"}, log_path=log_path
    )
    with server:
        given = sendsms(server.url, account.email, key, headers={"X-Request-ID": "client-id-1"})
        assert given.status_code == 200 and given.headers["x-request-id"] == "client-id-1"
        made = httpx.get(server.url + "/healthz", timeout=30)
        assert HEX_ID.match(made.headers["x-request-id"])
        # A v1 client may put its key in a query string: the access log drops it.
        httpx.get(server.url + f"/api/v1/sendsms?accessKey={key}", timeout=30)
    text = log_path.read_text()
    assert key not in text and "secret body text" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers, loggers
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    [sent] = [line for line in access if line.get("request_id") == "client-id-1"]
    assert sent["account_id"] == account.id
    assert (sent["method"], sent["path"], sent["status"]) == ("POST", "/api/v1/sendsms", 200)
    [health] = [line for line in access if line.get("path") == "/healthz"]
    assert health["request_id"] == made.headers["x-request-id"] and "account_id" not in health


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-DEF_123.4:5/6", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("with space", False),
        ("tab\there", False),
        ("caf\u00e9", False),
    ],
)
def test_request_id_taken_only_when_valid(live: LiveServer, sent: str, kept: bool) -> None:
    answer = live.get("/healthz", headers={"X-Request-ID": sent.encode("utf-8")})
    assert (answer.headers["x-request-id"] == sent) is kept
    if not kept:
        assert HEX_ID.match(answer.headers["x-request-id"])


def test_request_id_on_the_short_way_in_and_on_errors(live: LiveServer) -> None:
    short_way = live.post("/api/v1/sendsms", content=b"{not json", headers={"X-Request-ID": "r1"})
    assert short_way.status_code == 400 and short_way.headers["x-request-id"] == "r1"
    routed = live.post("/api/v1/sendsms.php/", content=b"{", headers={"X-Request-ID": "r2"})
    assert routed.headers["x-request-id"] == "r2"
    missing = live.get("/no/such-page", headers={"X-Request-ID": "r3"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "r3"
    # One each: not added twice on the way out.
    assert short_way.headers.get_list("x-request-id") == ["r1"]


def record(**extra: Any) -> logging.LogRecord:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    made = logging.LogRecord("simgate.x", logging.ERROR, __file__, 1, "failed %s", ("x",), exc_info)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_json_formatter_fields_and_no_secrets() -> None:
    token = logs.request_id.set("rid-1")
    try:
        line = json.loads(
            logs.JsonFormatter().format(
                record(action="sendsms", items=3, access_key="k", token="t", password="p")
            )
        )
    finally:
        logs.request_id.reset(token)
    assert line["message"] == "failed x" and line["level"] == "ERROR"
    assert line["request_id"] == "rid-1" and line["action"] == "sendsms" and line["items"] == 3
    assert "ValueError: boom" in line["exception"]
    assert not {"access_key", "token", "password"} & line.keys()


async def test_request_id_on_a_500_of_the_short_way_in(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setitem(fast.HANDLERS, "/api/v1/sendsms", broken)
    shutil.copyfile(sqlite_template, tmp_path / "simgate.db")
    app = create_app(Settings(data_dir=tmp_path), migrate=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/api/v1/sendsms", content=b"{}", headers={"X-Request-ID": "e1"})
    runtime_of(app).engine.dispose()
    assert answer.status_code == 500 and answer.headers["x-request-id"] == "e1"
