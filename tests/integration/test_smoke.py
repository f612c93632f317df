from __future__ import annotations

from typing import Any

from tests.support.servers import LiveServer


def test_sendsms_round_trip(server: LiveServer, account: dict[str, Any]) -> None:
    body = {
        "header": {"login": account["login"], "accessKey": account["accessKey"]},
        "messages": [{"phone_number": "+33612345678", "message": "hi"}],
    }
    answer = server.post("/api/v1/sendsms", json=body).json()
    assert answer[0]["sent"] == 1
