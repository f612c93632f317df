"""The verifying receiver printed in docs/webhooks.md works as printed."""

from __future__ import annotations

import re
import runpy
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from simgate.domain import payloads
from simgate.services.webhook_admin import signing_secret
from tests.support import http_client
from tests.support.polling import wait_for
from tests.support.servers import LiveServer
from tests.webhooks.conftest import Recorder, emit, make_account, rows

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    return next(b for b in blocks if "verifier.verify" in b)


def test_the_documented_receiver_verifies_real_deliveries(
    fast_server: LiveServer, monkeypatch: pytest.MonkeyPatch, recorder: Recorder, tmp_path: Path
) -> None:
    make_account(fast_server.engine)
    secret = signing_secret(fast_server.engine, "user@example.com")
    monkeypatch.setenv("SIMGATE_WEBHOOK_SECRET", secret)
    # Run as a file, as a reader would: Flask looks for its module's file.
    (tmp_path / "receiver.py").write_text(_example())
    namespace: dict[str, Any] = runpy.run_path(str(tmp_path / "receiver.py"), run_name="receiver")
    server = make_server("127.0.0.1", 0, namespace["app"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/webhook"
    try:
        from simgate.services.webhook_admin import set_callbacks

        set_callbacks(fast_server.engine, "user@example.com", {"status": url}, allow_private=True)
        payload = payloads.delivery_status(
            "user@example.com", "+33612345678", "received", datetime(2026, 3, 1), "50% off é"
        )
        emit(fast_server.engine, make_account_id(fast_server), "status", payload)
        row = wait_for(lambda: [r for r in rows(fast_server.engine) if r.state == "done"])[0]
        assert row.last_status == 200 and row.attempts == 1
        # The same request with the payload changed is refused by the example.
        set_callbacks(
            fast_server.engine, "user@example.com", {"status": recorder.url}, allow_private=True
        )
        emit(fast_server.engine, make_account_id(fast_server), "status", payload)
        wait_for(recorder.acked)
        signed = recorder.requests[0]
        tampered = signed["target"].replace("received", "failed")
        answer = http_client.get(
            url + "?" + tampered.split("?", 1)[1], headers=_sig(signed["headers"])
        )
        assert answer.status_code == 401
        genuine = http_client.get(
            url + "?" + signed["target"].split("?", 1)[1], headers=_sig(signed["headers"])
        )
        assert genuine.status_code == 200
    finally:
        server.shutdown()
        thread.join(5)


def _sig(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower().startswith("webhook-")}


def make_account_id(server: LiveServer) -> int:
    from simgate.services.accounts import get_account

    with server.engine.connect() as conn:
        return get_account(conn, "user@example.com").id
