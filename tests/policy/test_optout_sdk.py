"""client.v2.optouts against the real server, sync and async: every method,
its answer read into the typed objects; a send to an opted-out number raises
InvalidRequest with code RECIPIENT_OPTED_OUT. SQLite only (client side)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import simgate
from simgate.v2 import OptOut, OptOutChange, OptOutCheck, Page
from tests.support.servers import LiveServer

pytestmark = pytest.mark.client_side
Api = Callable[..., Any]


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, server: LiveServer, account: dict[str, Any]) -> Api:
    def run(group: str, method: str, *args: Any, **kw: Any) -> Any:
        if request.param == "sync":
            with simgate.Client(account["login"], account["accessKey"], server.url) as client:
                return getattr(getattr(client.v2, group), method)(*args, **kw)

        async def main() -> Any:
            async with simgate.AsyncClient(
                account["login"], account["accessKey"], server.url
            ) as client:
                return await getattr(getattr(client.v2, group), method)(*args, **kw)

        return asyncio.run(main())

    return run


def test_optouts_group(api: Api) -> None:
    added = api("optouts", "add", ["06 12 34 56 78", "+33612345679"], note="by the CRM")
    assert isinstance(added, OptOutChange)
    assert added.changed == ["+33612345678", "+33612345679"] and added.unchanged == []
    assert api("optouts", "add", "+33612345678").unchanged == ["+33612345678"]

    page = api("optouts", "list", limit=1)
    assert isinstance(page, Page) and len(page) == 1 and page.has_more
    [first] = page.items
    assert isinstance(first, OptOut) and first.reason == "api" and first.detail == "by the CRM"
    rest = api("optouts", "list", cursor=page.next_cursor)
    assert {o.phone_number for o in [*page, *rest]} == {"+33612345678", "+33612345679"}
    assert [o.phone_number for o in api("optouts", "list", search="+33612345679")] == [
        "+33612345679"
    ]

    checked = api("optouts", "check", "0612345678")
    assert isinstance(checked, OptOutCheck) and checked.opted_out and checked.since is not None
    assert checked.reason == "api" and [e.action for e in checked.history] == ["add"]

    with pytest.raises(simgate.InvalidRequest) as refused:
        api("sms", "send", {"phone_number": "+33612345678", "message": "hello"})
    assert refused.value.code == "RECIPIENT_OPTED_OUT"
    assert "opted out" in str(refused.value)

    removed = api("optouts", "remove", ["+33612345678", "+33600000000"])
    assert removed.changed == ["+33612345678"] and removed.unchanged == ["+33600000000"]
    after = api("optouts", "check", "+33612345678")
    assert not after.opted_out and after.since is None
    assert [e.action for e in after.history] == ["remove", "add"]

    with pytest.raises(simgate.InvalidRequest) as bad:
        api("optouts", "add", ["nonsense"])
    assert bad.value.field == "phone_numbers"
