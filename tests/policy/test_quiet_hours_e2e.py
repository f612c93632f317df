"""Quiet hours and caps end to end (issue 13, items 2 and 6): a real server on
an injected clock, a phone on the device socket, v1 sendsms and a campaign,
the dashboard's policy page and notices, and `simgate policy`; on SQLite and
PostgreSQL, one server per store for the module (each test has its own
account and phone, and sets the clock)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from simgate.config import Settings
from simgate.domain.policy import parse_windows
from simgate.services.accounts import create_account
from simgate.services.campaigns import CampaignSpec, create_campaign, start_campaign
from simgate.services.passwords import set_password
from simgate.services.policy import get_policy, update_policy
from simgate.store.accounts import Account
from simgate.store.tables import messages
from tests.support.cli import run_cli
from tests.support.servers import LiveServer
from tests.support.sockets import Sockets
from tests.support.v2_phone import Phone
from tests.web.helpers import PASSWORD, csrf_of, signed_in_client

WORKDAYS = parse_windows("Mon-Sat 08:00-20:00")


class SetClock:
    """The server's clock: the date is set by the test, the monotonic reading
    (send rates, sweeps) runs as usual so that the dispatcher keeps working."""

    def __init__(self) -> None:
        self.at = datetime(2026, 1, 5, 9, 0)

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture(scope="module")
def clock() -> SetClock:
    return SetClock()


@pytest.fixture(scope="module")
def server(shared_settings: Settings, clock: SetClock) -> Iterator[LiveServer]:
    # Quick polls and sweeps, so that "nothing for a while" is short yet
    # covers several dispatcher rounds.
    with LiveServer(
        shared_settings, clock=clock, dispatch_poll_seconds=0.1, dispatch_sweep_seconds=0.2
    ) as live:
        yield live


@pytest.fixture
def sockets(server: LiveServer) -> Iterator[Sockets]:
    opened = Sockets(server.url)
    yield opened
    opened.close()


@pytest.fixture
def account(server: LiveServer) -> dict[str, Any]:
    email = f"{secrets.token_hex(5)}@example.com"
    acc, key = create_account(server.engine, email, "Europe/Paris", "FR")
    return {"login": acc.email, "accessKey": key, "id": acc.id, "account": acc}


def sendsms(server: LiveServer, account: dict[str, Any], *items: dict[str, Any]) -> Any:
    body = {"header": {"login": account["login"], "accessKey": account["accessKey"]}}
    response = server.post("/api/v1/sendsms", json={**body, "messages": list(items)})
    assert response.status_code == 200, response.text
    assert all(answer["sent"] == 1 for answer in response.json()), response.text
    return response.json()


def sms(name: str, **extra: Any) -> dict[str, Any]:
    return {"phone_number": "+33612345678", "message": name, **extra}


def row(server: LiveServer, account: dict[str, Any], message: str) -> Any:
    with server.engine.connect() as conn:
        return conn.execute(
            select(messages).where(
                messages.c.account_id == account["id"], messages.c.message == message
            )
        ).one()


def handed(phone: Phone) -> str:
    """The text of the next message the phone is handed (reported delivered)."""
    return str(phone.handle()["text"])


def nothing_for(phone: Phone, seconds: float) -> None:
    """The phone is handed nothing for `seconds` (a few dispatcher polls)."""
    assert not phone.commands
    with pytest.raises(TimeoutError):
        phone._next("send_sms", seconds)


def policy(server: LiveServer, account: dict[str, Any], clock: SetClock, **changes: Any) -> None:
    update_policy(server.engine, account["account"], clock, **changes)


# --- the scenario ------------------------------------------------------------------


def test_saturday_evening_marketing_and_campaign_wait_for_monday_morning(
    server: LiveServer, sockets: Sockets, account: dict[str, Any], clock: SetClock
) -> None:
    policy(server, account, clock, windows=WORKDAYS)
    clock.at = datetime(2026, 4, 25, 19, 0)  # Saturday 21:00 in Paris
    phone = Phone(server, sockets, account["login"])

    sendsms(server, account, sms("promo", marketing=True), sms("your code is 1234"))
    owner: Account = account["account"]
    view = create_campaign(
        server.engine,
        owner,
        CampaignSpec(name="spring", message="spring sale", phone_numbers=["+33612345679"]),
        server.url,
        clock,
    )
    start_campaign(server.engine, owner, view.row.id, server.url, clock)

    assert handed(phone) == "your code is 1234"  # window_for_api is off: at once
    nothing_for(phone, 0.8)
    monday_8h = datetime(2026, 4, 27, 6, 0)
    for text in ("promo", "spring sale"):
        stored = row(server, account, text)
        assert (stored.state, stored.send_at, stored.windowed) == ("scheduled", monday_8h, True)

    clock.at = datetime(2026, 4, 27, 5, 59)
    nothing_for(phone, 0.8)
    clock.at = monday_8h
    assert sorted([handed(phone), handed(phone)]) == ["promo", "spring sale"]


def test_a_holiday_monday_waits_until_tuesday(
    server: LiveServer, sockets: Sockets, account: dict[str, Any], clock: SetClock
) -> None:
    policy(server, account, clock, windows=WORKDAYS, skip_holidays=True)
    clock.at = datetime(2026, 4, 4, 19, 0)  # Saturday 21:00; Monday the 6th is Easter Monday
    phone = Phone(server, sockets, account["login"])
    sendsms(server, account, sms("promo", marketing=True))
    assert row(server, account, "promo").send_at == datetime(2026, 4, 7, 6, 0)

    clock.at = datetime(2026, 4, 6, 6, 0)
    nothing_for(phone, 0.8)
    clock.at = datetime(2026, 4, 7, 6, 0)
    assert handed(phone) == "promo"


def test_queued_in_the_window_but_not_sent_before_it_closes_is_held(
    server: LiveServer, sockets: Sockets, account: dict[str, Any], clock: SetClock
) -> None:
    policy(server, account, clock, windows=WORKDAYS, window_for_api=True)
    clock.at = datetime(2026, 6, 15, 17, 59)  # Monday 19:59: no phone online yet
    sendsms(server, account, sms("reminder"))
    assert row(server, account, "reminder").state == "queued"

    clock.at = datetime(2026, 6, 15, 18, 1)  # 20:01: the phone comes back
    phone = Phone(server, sockets, account["login"])
    nothing_for(phone, 0.8)
    stored = row(server, account, "reminder")
    assert (stored.state, stored.send_at) == ("scheduled", datetime(2026, 6, 16, 6, 0))

    set_password(server.engine, account["login"], PASSWORD)
    with signed_in_client(server.url, account["login"]) as client:
        overview = client.get("/app/").text
        assert "Messages wait: outside the sending window, opens Tue 08:00" in overview

    clock.at = datetime(2026, 6, 16, 6, 0)
    assert handed(phone) == "reminder"


def test_the_hourly_cap_holds_messages_until_the_hour_turns(
    server: LiveServer, sockets: Sockets, account: dict[str, Any], clock: SetClock
) -> None:
    policy(server, account, clock, hourly_cap=2)
    clock.at = datetime(2026, 6, 17, 12, 58)  # 14:58 in Paris
    phone = Phone(server, sockets, account["login"])
    sendsms(server, account, *(sms(f"m{i}") for i in range(3)))
    assert sorted([handed(phone), handed(phone)]) == ["m0", "m1"]
    nothing_for(phone, 0.8)
    assert row(server, account, "m2").state == "queued"

    set_password(server.engine, account["login"], PASSWORD)
    with signed_in_client(server.url, account["login"]) as client:
        overview = client.get("/app/").text
        assert "Messages wait: hourly cap reached: 2 of 2, resumes at 15:00" in overview
        assert "hourly cap reached: 2 of 2" in client.get("/app/policy").text

    clock.at = datetime(2026, 6, 17, 13, 0)
    assert handed(phone) == "m2"


# --- the settings page and the command line ----------------------------------------------


@pytest.fixture
def client(server: LiveServer, account: dict[str, Any]) -> Iterator[httpx.Client]:
    set_password(server.engine, account["login"], PASSWORD)
    with signed_in_client(server.url, account["login"]) as signed:
        yield signed


FORM = {
    "optout_enabled": "on",
    "window_for_campaigns": "on",
    "optout_keywords": "",
    "optin_keywords": "",
    "optout_reply": "",
    "optin_reply": "",
    "windows": "",
    "default_validity": "",
    "hourly_cap": "",
    "daily_cap": "",
    "missed_call_reply": "",
    "missed_call_period": "86400",
}


def post_policy(client: httpx.Client, **changes: str) -> httpx.Response:
    token = csrf_of(client.get("/app/policy").text)
    return client.post("/app/policy", data={**FORM, **changes, "csrf_token": token})


def test_the_policy_page_saves_every_setting(
    server: LiveServer, account: dict[str, Any], client: httpx.Client
) -> None:
    page = client.get("/app/policy")
    assert page.status_code == 200 and "Nothing holds sending now." in page.text
    saved = post_policy(
        client,
        windows="Mon-Fri 09:00-18:00; Sat 10:00-12:00",
        skip_holidays="on",
        window_for_api="on",
        optout_keywords="STOP, ARRET",
        optout_reply="You will get no more messages.",
        default_validity="3600",
        hourly_cap="100",
        daily_cap="1 000",
        missed_call_reply="Sorry we missed you",
        missed_call_period="3600",
        action="save",
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/app/policy?done=saved"
    now = get_policy(server.engine, account["account"])
    assert now.windows == parse_windows("Mon-Fri 09:00-18:00; Sat 10:00-12:00")
    assert (now.skip_holidays, now.window_for_api, now.window_for_campaigns) == (True, True, True)
    assert now.optout_keywords == ("STOP", "ARRET")
    assert (now.default_validity, now.hourly_cap, now.daily_cap) == (3600, 100, 1000)
    assert (now.missed_call_reply, now.missed_call_period) == ("Sorry we missed you", 3600)
    shown = client.get("/app/policy?done=saved").text
    assert "Sending policy saved." in shown and "Mon-Fri 09:00-18:00; Sat 10:00-12:00" in shown

    # Emptied fields clear their setting.
    assert post_policy(client, action="save").status_code == 303
    cleared = get_policy(server.engine, account["account"])
    assert (cleared.windows, cleared.hourly_cap, cleared.optout_keywords) == ((), None, None)


def test_the_policy_page_shows_each_error_beside_its_field(
    server: LiveServer, account: dict[str, Any], client: httpx.Client
) -> None:
    refused = post_policy(client, windows="Mon-Sot 08:00-20:00", hourly_cap="ten", action="save")
    assert refused.status_code == 400
    assert 'id="windows-error"' in refused.text and "days are Mon, Tue" in refused.text
    assert 'id="hourly_cap-error"' in refused.text and "not a whole number" in refused.text
    assert "Mon-Sot 08:00-20:00" in refused.text  # what was typed stays
    bounds = post_policy(client, daily_cap="0", action="save")
    assert bounds.status_code == 400 and 'id="daily_cap-error"' in bounds.text
    assert get_policy(server.engine, account["account"]).windows == ()  # nothing saved


def test_the_french_rule_is_offered_not_forced(
    server: LiveServer, account: dict[str, Any], client: httpx.Client
) -> None:
    filled = post_policy(client, action="french")
    assert filled.status_code == 200
    assert "Mon-Sat 08:00-20:00" in filled.text and "save to apply it" in filled.text
    assert get_policy(server.engine, account["account"]).windows == ()


def test_the_policy_page_refuses_a_post_without_csrf(client: httpx.Client) -> None:
    assert client.post("/app/policy", data={**FORM, "action": "save"}).status_code == 403


def test_simgate_policy_set_and_show(
    server: LiveServer, shared_settings: Settings, account: dict[str, Any]
) -> None:
    login = account["login"]
    done = run_cli(
        "policy", "set", login, "--windows", "Mon-Sat 08:00-20:00", "--skip-holidays",
        "--hourly-cap", "50", "--no-window-for-campaigns", settings=shared_settings,
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert "Mon-Sat 08:00-20:00" in done.stdout
    shown = run_cli("policy", "show", login, "--json", settings=shared_settings)
    values = json.loads(shown.stdout)
    assert values["windows"] == "Mon-Sat 08:00-20:00" and values["hourly_cap"] == 50
    assert values["skip_holidays"] is True and values["window_for_campaigns"] is False

    cleared = run_cli("policy", "set", login, "--hourly-cap", "", settings=shared_settings)
    assert (
        cleared.exit_code == 0 and get_policy(server.engine, account["account"]).hourly_cap is None
    )
    bad = run_cli("policy", "set", login, "--windows", "Mon 25:00-26:00", settings=shared_settings)
    assert bad.exit_code == 1 and "windows:" in bad.stderr
    unknown = run_cli("policy", "show", "nobody@example.com", settings=shared_settings)
    assert unknown.exit_code == 1 and "no account" in unknown.stderr
