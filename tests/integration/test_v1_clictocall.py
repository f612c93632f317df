"""POST /api/v1/clicTocall (and its aliases) while no phone of the account is online."""

from __future__ import annotations

from typing import Any

from tests.support.servers import LiveServer

CONNECT_INFO = "please make sure the phone is connected and inSIM is running"


def call(server: LiveServer, account: dict[str, Any], number: Any, path: str = "clicTocall") -> Any:
    header = {
        "login": account["login"],
        "accessKey": account["accessKey"],
        "type": "clicToCall",
        "phone_number": number,
    }
    response = server.post(f"/api/v1/{path}", json={"header": header})
    assert response.status_code == 200, response.text
    return response.json()


def test_no_phone_online_is_002(server: LiveServer, account: dict[str, Any]) -> None:
    for path in ["clicTocall", "clictocall", "clic.php"]:
        answer = call(server, account, "+33612345678", path)
        assert answer == [{"info": CONNECT_INFO, "result": "failed", "errors": ["#002"]}]
        assert list(answer[0]) == ["info", "result", "errors"]
    # A national number is read in the account's region: valid, so the phone
    # is what is missing, not the number.
    assert call(server, account, "06 12 34 56 78")[0]["errors"] == ["#002"]


def test_bad_number_is_003(server: LiveServer, account: dict[str, Any]) -> None:
    for number in ["+33INVALID", "", None, 33612345678]:
        answer = call(server, account, number)
        assert len(answer) == 1 and list(answer[0]) == ["info", "result", "errors"]
        assert answer[0]["result"] == "failed" and answer[0]["errors"] == ["#003"]


def test_servers_down_is_001(server: LiveServer, account: dict[str, Any]) -> None:
    class Broken:  # the phone relay itself failing: the reference's "#001"
        async def dial(self, account_id: int, phone_number: str) -> bool:
            raise ConnectionError("relay unavailable")

    server.runtime.dialer = Broken()
    answer = call(server, account, "+33612345678")
    assert answer[0]["result"] == "failed" and answer[0]["errors"] == ["#001"]
