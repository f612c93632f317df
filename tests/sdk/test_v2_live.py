"""client.v2 against the real server, sync and async: every method once, its
answer read into the typed objects. The store's side of each endpoint is
tested on both stores in tests/v2; this is the SDK's side (SQLite only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import simgate
from simgate.v2 import (
    Account,
    AddAllResult,
    Campaign,
    Contact,
    ContactList,
    DeliveryStatus,
    ListDetail,
    MessageDetail,
    Page,
    QualificationOption,
    Recipient,
    SendReport,
    Template,
    Webhooks,
)
from tests.support.servers import LiveServer

pytestmark = pytest.mark.client_side
Api = Callable[..., Any]
CECILE, JEAN = "+33612345678", "+33698765432"


def account_today() -> date:
    """Today in the accounts' zone (Europe/Paris), how date filters are read."""
    return datetime.now(ZoneInfo("Europe/Paris")).date()


@pytest.fixture
def server(shared_server: LiveServer) -> LiveServer:
    return shared_server


@pytest.fixture
def account(shared_account: dict[str, Any]) -> dict[str, Any]:
    return shared_account


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, server: LiveServer, account: dict[str, Any]) -> Api:
    """api(group, method, *args, **kwargs): one v2 call, sync or async; the
    v1 method `add_contacts` when group is None."""

    def run(group: str | None, method: str, *args: Any, **kw: Any) -> Any:
        def target(client: Any) -> Any:
            return getattr(client if group is None else getattr(client.v2, group), method)

        if request.param == "sync":
            with simgate.Client(account["login"], account["accessKey"], server.url) as client:
                return target(client)(*args, **kw)

        async def main() -> Any:
            async with simgate.AsyncClient(
                account["login"], account["accessKey"], server.url
            ) as client:
                return await target(client)(*args, **kw)

        return asyncio.run(main())

    return run


def test_account(api: Api, account: dict[str, Any]) -> None:
    info = api("account", "info")
    assert isinstance(info, Account) and info.login == account["login"] and info.active
    hooks = api("account", "set_webhooks", incoming_sms="http://127.0.0.1:9/in")
    assert isinstance(hooks, Webhooks) and hooks.incoming_sms == "http://127.0.0.1:9/in"
    cleared = api("account", "set_webhooks", clear=["incoming_sms"])
    assert cleared.incoming_sms == "" and api("account", "webhooks") == cleared


def test_contacts_lists_campaigns_templates(api: Api) -> None:
    api(
        None,
        "add_contacts",
        [
            simgate.Contact(CECILE, first_name="Cécile", last_name="Dubois"),
            simgate.Contact(JEAN, first_name="Jean", last_name="Martin"),
        ],
    )
    [best, *_] = api("contacts", "search", "cecile dubios")
    assert isinstance(best, Contact) and best.phone_number == CECILE
    assert best.score is not None and 0 <= best.score <= 100 and best.match_type
    [cecile] = api("contacts", "find_phone", "06 12 34 56 78")
    assert cecile.id == best.id
    assert api("contacts", "tags", cecile.id, add=["VIP", "paris"]) == ["paris", "vip"]
    api("contacts", "switch_pro", cecile.id, True)
    detail = api("contacts", "detail", int(cecile.id))
    assert detail.pro and detail.tags == ["paris", "vip"] and detail.created is not None
    first = api("contacts", "list", limit=1, sort="lastname", order="asc")
    assert isinstance(first, Page) and first.has_more and first.next_cursor
    second = api(
        "contacts", "list", limit=1, sort="lastname", order="asc", cursor=first.next_cursor
    )
    assert [c.lastname for c in first] + [c.lastname for c in second] == ["Dubois", "Martin"]
    assert isinstance(api("contacts", "custom_fields"), list)

    vip = api("lists", "create", "VIP", description="best")
    assert isinstance(vip, ContactList) and vip.id and vip.contacts == 0
    api("lists", "add_contacts", vip.id, [cecile.id])
    renamed = api("lists", "update", vip.id, name="VIPs")
    assert (renamed.name, renamed.description, renamed.contacts) == ("VIPs", "best", 1)
    inside = api("lists", "detail", vip.id)
    assert isinstance(inside, ListDetail) and [c.id for c in inside.contacts] == [cecile.id]
    everyone = api("lists", "create", "All")
    added = api("lists", "add_all", everyone.id)
    assert isinstance(added, AddAllResult) and (added.added, added.total) == (2, 2)
    api("lists", "remove_contacts", everyone.id, [cecile.id])
    assert {item.id: item.contacts for item in api("lists", "list")} == {vip.id: 1, everyone.id: 1}
    api("lists", "delete", everyone.id)

    campaign = api("campaigns", "create", "Spring", "Sale: [link]", list_id=vip.id,
                   phone_numbers=[JEAN], url="https://example.com/", priority=2)  # fmt: skip
    assert isinstance(campaign, Campaign) and campaign.recipients == 2 and campaign.status == 0
    assert api("campaigns", "detail", campaign.id).list_id == vip.id
    started = api("campaigns", "start", campaign.id)
    assert started.id == campaign.id and started.status == simgate.v2.CAMPAIGN_SENDING
    assert api("campaigns", "cancel", campaign.id).status == simgate.v2.CAMPAIGN_CANCELLED
    assert [c.id for c in api("campaigns", "list")] == [campaign.id]

    template = api("templates", "create", "Hi", "Hi {firstname}, {custom.when}")
    assert isinstance(template, Template) and template.variables == ["firstname", "custom.when"]
    assert api("templates", "update", template.id, name="Hello").name == "Hello"
    report = api(
        "templates",
        "send",
        template.id,
        [Recipient(CECILE, {"custom.when": "today"}), Recipient(JEAN, {})],
    )
    assert isinstance(report, SendReport) and report.sent_count == 1
    ok, refused = report.results
    assert ok.sent and ok.sms_id and not refused.sent
    assert (refused.error_code, refused.field) == ("VALIDATION_ERROR", "custom.when")
    assert [t.name for t in api("templates", "list")] == ["Hello"]
    api("templates", "delete", template.id)
    with pytest.raises(simgate.NotFound) as missing:
        api("templates", "delete", template.id)
    assert missing.value.field == "template_id" and missing.value.status_code == 404

    api("contacts", "delete", cecile.id)
    assert api("contacts", "find_phone", CECILE) == []


def test_sms_calls_qualifications_stats(api: Api) -> None:
    report = api(
        "sms",
        "send",
        [
            simgate.Sms(JEAN, "Code 1234 [link]", url="https://example.com/", id_sms_api="o-1"),
            simgate.Sms("+33INVALID", "refused"),
        ],
    )
    assert report.sent_count == 1
    sent, refused = report.results
    assert sent.sent and sent.sms_id == "o-1" and sent.segments == 1
    assert not refused.sent and refused.error_code == "VALIDATION_ERROR" and refused.field
    [status, unknown] = api("sms", "delivery_status", ["o-1", "nope"])
    assert isinstance(status, DeliveryStatus) and status.delivery_status == "pending"
    assert unknown.delivery_status == "not_found"
    detail = api("sms", "detail", "o-1")
    assert isinstance(detail, MessageDetail) and detail.message.sms_id == "o-1"
    assert isinstance(detail.events, list) and detail.message.direction == "outbound"
    listed = api("sms", "list", direction="outbound", date_from=account_today())
    assert [m.sms_id for m in listed] == ["o-1"]
    assert [m.message for m in api("sms", "conversation", JEAN)] == [sent.raw.get("message")]

    option = api("qualifications", "create_option", "Interested")
    assert isinstance(option, QualificationOption) and option.id
    assert api("qualifications", "update_option", option.id, "Hot").label == "Hot"
    assert [o.label for o in api("qualifications", "options")] == ["Hot"]
    assert api("calls", "list", type="missed").items == []
    with pytest.raises(simgate.NotFound):
        api("calls", "qualify", "999999", option.id)
    api("qualifications", "delete_option", option.id)
    assert isinstance(api("qualifications", "list", limit=5), dict)
    assert api("qualifications", "stats", date_from=account_today())["success"] is True
    assert api("stats", "overview", date_from=account_today())["success"] is True
    assert api("stats", "clicks", limit=5)["success"] is True
    with pytest.raises(simgate.ApiError):  # no phone online for this account
        api("calls", "click_to_call", CECILE)
