"""client.v2 against a recording server: every endpoint's body (the fields of
the contract's section 5), the typed answers, the errors and the retries. No
simgate server: the v2 endpoints' own tests cover their side."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import pytest

import simgate
from simgate.client import _v2
from simgate.v2 import (
    Account,
    Campaign,
    Contact,
    ContactList,
    Page,
    QualificationOption,
    Recipient,
    SendReport,
    Template,
)
from tests.sdk.support import V2_ENDPOINTS, V2_EXTENSIONS, RecordingServer

LOGIN, KEY = "me@example.com", "sk_test"
CREDENTIALS = {"login": LOGIN, "accessKey": KEY}

# (group, method, args, kwargs, endpoint, the fields sent beside the credentials)
CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any], str, dict[str, Any]]] = [
    ("account", "info", (), {}, "account", {}),
    ("account", "webhooks", (), {}, "account/webhooks", {"action": "get"}),
    (
        "account",
        "set_webhooks",
        (),
        {"incoming_sms": "https://a/in", "clear": ["link_clicks"]},
        "account/webhooks",
        {"webhooks": {"incoming_sms": "https://a/in", "link_clicks": None}},
    ),
    ("contacts", "list", (), {}, "contacts", {"limit": 10}),
    (
        "contacts",
        "list",
        (),
        {"search": "é x", "limit": 3, "cursor": "abc", "sort": "lastname", "order": "asc"},
        "contacts",
        {"limit": 3, "search": "é x", "cursor": "abc", "sort": "lastname", "order": "asc"},
    ),
    (
        "contacts",
        "search",
        ("cecile dubois",),
        {},
        "contacts/search",
        {"name": "cecile dubois", "mode": "smart", "fuzzy": True, "limit": 5},
    ),
    (
        "contacts",
        "search",
        ("dub",),
        {"mode": "starts_with", "fuzzy": False, "limit": 2},
        "contacts/search",
        {"name": "dub", "mode": "starts_with", "fuzzy": False, "limit": 2},
    ),
    ("contacts", "find_phone", ("0612",), {}, "find_contact", {"phone_number": "0612"}),
    ("contacts", "detail", (42,), {}, "contacts/detail", {"id_contact": "42"}),
    (
        "contacts",
        "switch_pro",
        ("42", True),
        {},
        "contacts/switch_pro",
        {"id_contact": "42", "pro": True},
    ),
    ("contacts", "delete", ("42",), {}, "contacts/delete", {"id_contact": "42"}),
    (
        "contacts",
        "tags",
        ("42",),
        {"add": ["vip", "premium"]},
        "contacts/tags",
        {"id_contact": "42", "add": ["vip", "premium"], "remove": []},
    ),
    ("contacts", "custom_fields", (), {}, "contacts/custom_fields", {}),
    ("sms", "list", (), {}, "sms", {"direction": "all", "limit": 5}),
    (
        "sms",
        "list",
        (),
        {
            "direction": "inbound",
            "phone_number": "+331",
            "date_from": date(2026, 1, 1),
            "date_to": "2026-02-01",
            "limit": 7,
        },
        "sms",
        {
            "direction": "inbound",
            "limit": 7,
            "phone_number": "+331",
            "date_from": "2026-01-01",
            "date_to": "2026-02-01",
        },
    ),
    ("sms", "detail", ("abc",), {}, "sms/detail", {"sms_id": "abc"}),
    (
        "sms",
        "conversation",
        ("+331",),
        {},
        "sms/conversation",
        {"phone_number": "+331", "limit": 20},
    ),
    (
        "sms",
        "send",
        (simgate.Sms("+3361", "Hello [link]", url="https://x.y", priority=1),),
        {},
        "sendsms",
        {
            "messages": [
                {
                    "phone_number": "+3361",
                    "message": "Hello [link]",
                    "url": "https://x.y",
                    "priority": 1,
                }
            ]
        },  # noqa: E501
    ),
    (
        "sms",
        "send",
        (
            [
                simgate.Sms("+3361", "a", date_to_send=datetime(2026, 4, 1, 10, 16, 10)),
                {"phone_number": "+3362", "message": "b", "priority": 2},
            ],
        ),
        {},
        "sendsms",
        {
            "messages": [
                {"phone_number": "+3361", "message": "a", "date_to_send": "2026-04-01 10:16:10"},
                {"phone_number": "+3362", "message": "b", "priority": 2},
            ]
        },
    ),
    ("sms", "delivery_status", ("A",), {}, "sms/delivery_status", {"sms_id": "A"}),
    (
        "sms",
        "delivery_status",
        (["A", "B", 3],),
        {},
        "sms/delivery_status",
        {"sms_ids": ["A", "B", "3"]},
    ),
    ("calls", "list", (), {}, "calls", {"type": "all", "limit": 10}),
    (
        "calls",
        "list",
        (),
        {"type": "missed", "phone_number": "+331", "limit": 3},
        "calls",
        {"type": "missed", "limit": 3, "phone_number": "+331"},
    ),
    (
        "calls",
        "qualify",
        ("7", "2"),
        {"notes": "call back"},
        "calls/qualify",
        {"call_id": "7", "option_id": "2", "notes": "call back"},
    ),
    ("calls", "click_to_call", ("+331",), {}, "clictocall", {"phone_number": "+331"}),
    ("qualifications", "list", (), {}, "qualifications", {"limit": 10}),
    (
        "qualifications",
        "list",
        (),
        {"phone_number": "+331", "limit": 4},
        "qualifications",
        {"limit": 4, "phone_number": "+331"},
    ),
    ("qualifications", "options", (), {}, "qualifications/options", {}),
    (
        "qualifications",
        "create_option",
        ("Interested",),
        {},
        "qualifications/options/create",
        {"label": "Interested"},
    ),
    (
        "qualifications",
        "update_option",
        (3, "Hot"),
        {},
        "qualifications/options/update",
        {"option_id": "3", "label": "Hot"},
    ),
    (
        "qualifications",
        "delete_option",
        ("3",),
        {},
        "qualifications/options/delete",
        {"option_id": "3"},
    ),
    ("qualifications", "stats", (), {}, "qualifications/stats", {}),
    (
        "qualifications",
        "stats",
        (),
        {"date_from": "2026-01-01", "date_to": date(2026, 1, 31)},
        "qualifications/stats",
        {"date_from": "2026-01-01", "date_to": "2026-01-31"},
    ),
    ("lists", "list", (), {}, "lists", {}),
    (
        "lists",
        "create",
        ("VIP",),
        {"description": "best"},
        "lists/create",
        {"name": "VIP", "description": "best"},
    ),
    ("lists", "detail", ("5",), {}, "lists/detail", {"list_id": "5", "limit": 10}),
    ("lists", "update", ("5",), {"name": "VIPs"}, "lists/update", {"list_id": "5", "name": "VIPs"}),
    ("lists", "delete", ("5",), {}, "lists/delete", {"list_id": "5"}),
    (
        "lists",
        "add_contacts",
        ("5", [1, "2"]),
        {},
        "lists/contacts/add",
        {"list_id": "5", "contact_ids": ["1", "2"]},
    ),
    (
        "lists",
        "remove_contacts",
        ("5", ["2"]),
        {},
        "lists/contacts/remove",
        {"list_id": "5", "contact_ids": ["2"]},
    ),
    ("lists", "add_all", ("5",), {}, "lists/contacts/addall", {"list_id": "5"}),
    ("campaigns", "list", (), {}, "campaigns", {"limit": 10}),
    (
        "campaigns",
        "create",
        ("N", "M"),
        {"list_id": "L1", "contact_ids": ["c1"], "phone_numbers": ["+331"], "priority": 2},
        "campaigns/create",
        {
            "name": "N",
            "message": "M",
            "priority": 2,
            "list_id": "L1",
            "contact_ids": ["c1"],
            "phone_numbers": ["+331"],
        },
    ),
    (
        "campaigns",
        "create",
        ("N", ""),
        {"template_id": 4, "url": "https://e.com/", "date_to_send": datetime(2026, 5, 1, 9, 0)},
        "campaigns/create",
        {
            "name": "N",
            "message": "",
            "priority": 0,
            "template_id": "4",
            "url": "https://e.com/",
            "date_to_send": "2026-05-01 09:00:00",
        },
    ),
    ("campaigns", "detail", ("9",), {}, "campaigns/detail", {"campaign_id": "9"}),
    ("campaigns", "start", ("9",), {}, "campaigns/start", {"campaign_id": "9"}),
    ("campaigns", "cancel", ("9",), {}, "campaigns/cancel", {"campaign_id": "9"}),
    ("templates", "list", (), {}, "templates", {}),
    (
        "templates",
        "create",
        ("Hi", "Hello {firstname}"),
        {},
        "templates/create",
        {"name": "Hi", "message": "Hello {firstname}"},
    ),
    (
        "templates",
        "update",
        ("T1",),
        {"message": "Hey {firstname}"},
        "templates/update",
        {"template_id": "T1", "message": "Hey {firstname}"},
    ),
    ("templates", "delete", ("T1",), {}, "templates/delete", {"template_id": "T1"}),
    (
        "templates",
        "send",
        ("T1", Recipient("+331", {"firstname": "Marie", "custom.date": "April 15"})),
        {},
        "templates/send",
        {
            "template_id": "T1",
            "recipients": [
                {
                    "phone_number": "+331",
                    "variables": {"firstname": "Marie", "custom.date": "April 15"},
                }
            ],
        },
    ),
    (
        "templates",
        "send",
        ("T1", [{"phone_number": "+331"}, Recipient("+332")]),
        {"priority": 2},
        "templates/send",
        {
            "template_id": "T1",
            "recipients": [{"phone_number": "+331"}, {"phone_number": "+332", "variables": {}}],
            "priority": 2,
        },
    ),
    ("stats", "overview", (), {}, "stats/overview", {"date_from": "", "date_to": ""}),
    ("stats", "clicks", (), {"limit": 3}, "stats/clicks", {"limit": 3}),
]


@pytest.fixture(scope="module")
def recorder() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(recorder: RecordingServer) -> None:
    recorder.requests.clear()
    recorder.answers.clear()
    recorder.headers.clear()


Run = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, recorder: RecordingServer) -> Run:
    """run(group, method, *args, client options..., **kwargs): one v2 call."""

    def go(group: str, method: str, *args: Any, options: Any = None, **kw: Any) -> Any:
        opts = {"base_url": recorder.url, "retry_backoff": 0.01, **(options or {})}
        if request.param == "sync":
            with simgate.Client(LOGIN, KEY, **opts) as client:
                return getattr(getattr(client.v2, group), method)(*args, **kw)

        async def main() -> Any:
            async with simgate.AsyncClient(LOGIN, KEY, **opts) as client:
                return await getattr(getattr(client.v2, group), method)(*args, **kw)

        return asyncio.run(main())

    return go


def test_every_endpoint_is_covered() -> None:
    assert {case[4] for case in CASES} == V2_ENDPOINTS
    assert len(V2_ENDPOINTS) == 44


def test_the_server_serves_every_endpoint_of_the_contract() -> None:
    import simgate.api.v2  # noqa: F401 - registers the endpoints
    from simgate.api.v2.envelope import ENDPOINTS

    assert set(ENDPOINTS) == V2_ENDPOINTS | V2_EXTENSIONS


@pytest.mark.parametrize(
    ("group", "method", "args", "kwargs", "endpoint", "fields"),
    CASES,
    ids=[f"{c[0]}.{c[1]}-{i}" for i, c in enumerate(CASES)],
)
def test_request_body(
    run: Run,
    recorder: RecordingServer,
    group: str,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    endpoint: str,
    fields: dict[str, Any],
) -> None:
    run(group, method, *args, **kwargs)
    path, body = recorder.last()
    assert path == f"/api/v2/{endpoint}"
    assert body == {**CREDENTIALS, **fields}
    assert list(body)[:2] == ["login", "accessKey"]


def test_sync_and_async_groups_match() -> None:
    sync_client = simgate.Client(LOGIN, KEY, base_url="http://127.0.0.1:9")
    async_client = simgate.AsyncClient(LOGIN, KEY, base_url="http://127.0.0.1:9")
    groups = [name for name in vars(sync_client.v2) if not name.startswith("_")]
    assert groups == [name for name in vars(async_client.v2) if not name.startswith("_")]
    methods = 0
    for name in groups:
        sync_group, async_group = getattr(sync_client.v2, name), getattr(async_client.v2, name)
        names = {m for m in dir(type(sync_group)) if not m.startswith("_")}
        assert names == {m for m in dir(type(async_group)) if not m.startswith("_")}
        for method in names:
            assert inspect.signature(getattr(sync_group, method)) == inspect.signature(
                getattr(async_group, method)
            )
            assert inspect.iscoroutinefunction(getattr(async_group, method))
            methods += 1
    # 44 endpoints (account/webhooks both reads and sets) and optouts' four.
    assert methods == 45 + 4
    assert isinstance(sync_client.v2, _v2.V2)
    sync_client.close()


def test_answers_are_typed_and_tolerate_extra_keys(run: Run, recorder: RecordingServer) -> None:
    contact = {
        "id": "42",
        "id_contact": "42",
        "firstname": "Cécile",
        "lastname": "Dubois",
        "phone_number": "+33612345678",
        "email": "c@d.fr",
        "address": "",
        "pro": True,
        "tags": ["vip"],
        "custom": {"company": "ACME"},
        "created": "2026-04-01 10:16:10",
        "updated": None,
        "score": 97,
        "match_type": "fuzzy",
        "something_new": {"nested": 1},
    }
    recorder.answer(
        "/api/v2/contacts/search", {"success": True, "contacts": [contact], "took_ms": 3}
    )
    [found] = run("contacts", "search", "cecile")
    assert isinstance(found, Contact)
    assert (found.id, found.firstname, found.pro, found.tags) == ("42", "Cécile", True, ["vip"])
    assert found.custom == {"company": "ACME"} and found.score == 97
    assert found.created == datetime(2026, 4, 1, 10, 16, 10) and found.updated is None
    assert found.raw["something_new"] == {"nested": 1}

    recorder.answer(
        "/api/v2/contacts",
        {"success": True, "contacts": [contact], "next_cursor": "n1", "has_more": True},
    )
    page = run("contacts", "list", limit=1)
    assert isinstance(page, Page) and len(page) == 1 and page.next_cursor == "n1"
    assert page.has_more and [c.id for c in page] == ["42"]
    recorder.answer("/api/v2/contacts", {"success": True, "contacts": [], "next_cursor": None})
    last = run("contacts", "list", cursor="n1")
    assert last.next_cursor is None and not last.has_more and last.items == []

    recorder.answer(
        "/api/v2/account",
        {
            "success": True,
            "account": {
                "login": LOGIN,
                "product": "self-hosted",
                "sms_credits": 1000000,
                "country_code": "FR",
                "active": True,
                "devices_connected": 1,
                "plan": "self-hosted",
                "credits": 1000000,
                "options": {"timezone": "Europe/Paris"},
            },
        },
    )
    account = run("account", "info")
    assert isinstance(account, Account) and account.devices_connected == 1
    assert account.options == {"timezone": "Europe/Paris"} and account.active

    recorder.answer(
        "/api/v2/lists/create",
        {"success": True, "list_id": "5", "list": {"name": "VIP", "contacts": 0}},
    )
    created = run("lists", "create", "VIP")
    assert isinstance(created, ContactList) and created.id == "5" and created.contacts == 0

    recorder.answer(
        "/api/v2/campaigns/detail",
        {
            "success": True,
            "campaign": {
                "id": "9",
                "campaign_id": "9",
                "name": "N",
                "status": 1,
                "status_label": "sending",
                "recipients": 3,
                "sent": 2,
                "delivered": 1,
                "failed": 0,
                "pending": 1,
                "clicks": 4,
                "list_id": None,
                "created": "2026-04-01 10:00:00",
                "started": "2026-04-01 10:01:00",
                "completed": None,
                "cancelled": None,
            },
        },
    )
    campaign = run("campaigns", "detail", "9")
    assert isinstance(campaign, Campaign)
    assert (campaign.status, campaign.recipients, campaign.clicks) == (1, 3, 4)
    assert campaign.status == simgate.v2.CAMPAIGN_SENDING and campaign.list_id is None

    recorder.answer(
        "/api/v2/qualifications/options",
        {"success": True, "options": [{"_id": "3", "label": "Hot"}, "not an object"]},
    )
    assert run("qualifications", "options") == [
        QualificationOption(id="3", label="Hot", raw={"_id": "3", "label": "Hot"})
    ]

    recorder.answer(
        "/api/v2/contacts/tags",
        {"success": True, "id_contact": "42", "tags": ["paris", "vip"], "added": ["vip"]},
    )
    assert run("contacts", "tags", "42", add=["VIP"]) == ["paris", "vip"]
    recorder.answer(
        "/api/v2/campaigns/start",
        {"success": True, "campaign_id": "9", "queued": 3, "campaign": {"status": 1}},
    )
    started = run("campaigns", "start", "9")
    assert (started.id, started.status) == ("9", 1)
    recorder.answer("/api/v2/campaigns/cancel", {"success": True})  # a terse server
    assert run("campaigns", "cancel", "9").id == ""

    recorder.answer(
        "/api/v2/templates/create",
        {"success": True, "template_id": "T1", "template": {"name": "Hi", "variables": ["x"]}},
    )
    template = run("templates", "create", "Hi", "{x}")
    assert isinstance(template, Template) and template.id == "T1" and template.variables == ["x"]


def test_send_results(run: Run, recorder: RecordingServer) -> None:
    recorder.answer(
        "/api/v2/sendsms",
        {
            "success": True,
            "sent_count": 1,
            "result": [
                {"sent": 1, "sms_id": "a1", "phone_number": "+3361", "segments": 2},
                {
                    "sent": 0,
                    "sms_id": None,
                    "phone_number": "+33x",
                    "error": "not a number",
                    "error_code": "VALIDATION_ERROR",
                    "field": "messages[1].phone_number",
                },
            ],
        },
    )
    report = run("sms", "send", [simgate.Sms("+3361", "a"), simgate.Sms("+33x", "b")])
    assert isinstance(report, SendReport) and report.sent_count == 1
    ok, refused = report.results
    assert ok.sent and ok.sms_id == "a1" and ok.segments == 2 and ok.error_code is None
    assert not refused.sent and refused.error_code == "VALIDATION_ERROR"
    assert refused.field == "messages[1].phone_number" and refused.sms_id == ""


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (404, {"error": "no list", "error_code": "NOT_FOUND", "field": "list_id"}, "NotFound"),
        (422, {"error": "x", "error_code": "MISSING_FIELD", "field": "name"}, "MissingField"),
        (422, {"error": "x", "error_code": "VALIDATION_ERROR", "field": "limit"}, "InvalidRequest"),
        (409, {"error": "started", "error_code": "INVALID_STATE"}, "InvalidState"),
        (401, {"error": "who?", "error_code": "INVALID_CREDENTIALS"}, "AuthenticationError"),
        (400, {"error": "bad", "error_code": "INVALID_JSON"}, "BadRequest"),
        (200, {"error": "no list", "error_code": "NOT_FOUND", "field": "list_id"}, "NotFound"),
        (418, {"error": "odd", "error_code": "SOMETHING_NEW"}, "ApiError"),
        (404, {"error": "gone"}, "NotFound"),
    ],
)
def test_errors(
    run: Run, recorder: RecordingServer, status: int, body: dict[str, Any], cls: str
) -> None:
    recorder.answer("/api/v2/lists/detail", {"success": False, **body}, status)
    with pytest.raises(simgate.ApiError) as caught:
        run("lists", "detail", "5")
    error = caught.value
    assert type(error) is getattr(simgate, cls)
    assert error.status_code == status
    assert error.error_code == error.code == body.get("error_code")
    assert error.error == error.info == body["error"]
    assert error.field == body.get("field")


def test_rate_limit_and_licence(run: Run, recorder: RecordingServer) -> None:
    recorder.answer(
        "/api/v2/contacts",
        {"success": False, "error": "slow down", "error_code": "RATE_LIMIT_EXCEEDED"},
        429,
        retry_after="7",
    )
    with pytest.raises(simgate.RateLimited) as limited:
        run("contacts", "list")
    assert limited.value.retry_after == 7.0
    assert len(recorder.requests) == 1  # a 4xx is never retried
    recorder.answer(
        "/api/v2/campaigns/start",
        {
            "success": False,
            "error": "premium",
            "error_code": "LICENSE_REQUIRED",
            "subscription_type": "premium expired",
            "upgrade_url": "https://x/up",
            "feature": "campaigns",
        },
        402,
    )
    with pytest.raises(simgate.LicenseRequired) as wall:
        run("campaigns", "start", "9")
    assert (wall.value.subscription_type, wall.value.upgrade_url, wall.value.feature) == (
        "premium expired",
        "https://x/up",
        "campaigns",
    )


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'{"contacts": []}'])
def test_answers_that_are_not_v2(run: Run, recorder: RecordingServer, body: bytes) -> None:
    recorder.answer("/api/v2/contacts", body)
    with pytest.raises((simgate.UnexpectedResponse, simgate.ApiError)) as caught:
        run("contacts", "list")
    # A missing `success` is a failure, as the official client reads it.
    assert caught.value.status_code == 200


def test_reads_are_retried_creates_and_unkeyed_sends_are_not(
    run: Run, recorder: RecordingServer
) -> None:
    busy = (503, {"detail": "busy"})
    recorder.answers["/api/v2/contacts"] = [busy, (200, {"success": True, "contacts": []})]
    assert run("contacts", "list").items == []
    assert len(recorder.requests) == 2

    recorder.requests.clear()
    recorder.answers["/api/v2/lists/create"] = [busy, (200, {"success": True})]
    with pytest.raises(simgate.ServerError):
        run("lists", "create", "VIP")
    assert len(recorder.requests) == 1

    recorder.requests.clear()
    recorder.answers["/api/v2/sendsms"] = [busy, (200, {"success": True, "result": []})]
    with pytest.raises(simgate.ServerError):
        run("sms", "send", simgate.Sms("+3361", "a"))
    assert len(recorder.requests) == 1

    recorder.requests.clear()
    recorder.answers["/api/v2/sendsms"] = [busy, (200, {"success": True, "result": []})]
    run("sms", "send", simgate.Sms("+3361", "a", id_sms_api="order-1"))
    assert len(recorder.requests) == 2
    assert recorder.requests[0][1] == recorder.requests[1][1]  # the same body again


def test_local_checks() -> None:
    client = simgate.Client(LOGIN, KEY, base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ValueError, match="no webhook"):
        client.v2.account.set_webhooks(clear=["nope"])
    with pytest.raises(ValueError, match="at least one"):
        client.v2.sms.delivery_status([])
    client.close()
