"""The official client, unmodified, against `simgate serve`: every one of its
47 network commands (reference section 1.2) run as a user runs them, ids
chained from the `--json` outputs, each exiting 0 with the fields it reads
present and of the contract's types (sections 4.8 and 5); the human output of
the list commands without a traceback; login/whoami on the credentials file;
the confirmation prompts; and the error display.

One server (SQLite) and one simulated phone for the module; the tests run in
file order and build on each other's objects through `world.ids`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.services.devices import add_device
from simgate.store.db import make_engine, upgrade
from simgate.testing import AgentProcess, ServerProcess
from tests.support import http_client
from tests.support.v2 import insim, insim_json, ok

pytestmark = pytest.mark.e2e

CECILE, JEAN, ZOE = "+33612345678", "+33698765432", "+33611223344"
SPARE, TEMP = "+33655443322", "+33644556677"
DELIVERY_STATES = {"delivered", "sent", "pending", "failed", "blocked", "not_found"}
ENV_CREDENTIALS_OFF = {"login": "", "accessKey": ""}  # the client then reads its file
GROUPS = {"account", "contacts", "sms", "calls", "qualifications", "lists", "campaigns"}
GROUPS |= {"templates", "stats"}
# The client's 47 commands that make a request (reference section 1.2).
NETWORK_COMMANDS = {
    "login", "whoami", "account info", "account webhooks-set",
    "contacts list", "contacts search", "contacts find-phone", "contacts detail",
    "contacts switch-pro", "contacts delete", "contacts tags-add", "contacts tags-remove",
    "contacts custom-fields",
    "sms list", "sms detail", "sms conversation", "sms send", "sms delivery-status",
    "calls list", "calls qualify", "calls clictocall",
    "qualifications list", "qualifications options", "qualifications options-create",
    "qualifications options-update", "qualifications options-delete", "qualifications stats",
    "lists list", "lists create", "lists detail", "lists update", "lists delete",
    "lists add-contacts", "lists remove-contacts", "lists add-all",
    "campaigns list", "campaigns create", "campaigns detail", "campaigns cancel",
    "campaigns start",
    "templates list", "templates create", "templates update", "templates delete",
    "templates send",
    "stats overview", "stats clicks",
}  # fmt: skip


@dataclass
class World:
    url: str
    account: dict[str, Any]
    home: Path
    ids: dict[str, str] = field(default_factory=dict)
    ran: set[str] = field(default_factory=set)  # commands that exited 0

    def record(self, args: tuple[str, ...]) -> None:
        self.ran.add(" ".join(args[:2]) if args[0] in GROUPS else args[0])

    def api(self, endpoint: str, **fields: Any) -> dict[str, Any]:
        """Straight HTTP, for checks and waits (cheaper than a client process)."""
        return ok(self.url, self.account, endpoint, **fields)

    def json(self, *args: str) -> Any:
        """`insim --json ARGS`: exit 0, the output parsed."""
        answer = insim_json(self.url, self.account, *args, home=self.home)
        self.record(args)
        return answer

    def human(self, *args: str, stdin: str | None = None) -> str:
        """`insim ARGS` in human mode: exit 0, no traceback; its stdout."""
        done = insim(self.url, self.account, *args, home=self.home, json_mode=False, stdin=stdin)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done)
        self.record(args)
        return done.stdout

    def fails(self, *args: str, stdin: str | None = None) -> str:
        """A command that must exit 1 without a traceback; its stderr and stdout."""
        done = insim(self.url, self.account, *args, home=self.home, json_mode=False, stdin=stdin)
        assert done.returncode == 1 and "Traceback" not in done.stderr, (args, done)
        return done.stderr + done.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("insim")
    settings = Settings(data_dir=root / "data", allow_private_callbacks=True)
    engine = make_engine(settings)
    upgrade(engine)
    account, key = create_account(engine, "cli@example.com", "Europe/Paris", "FR")
    _, token = add_device(engine, account.email, "simulated phone")
    engine.dispose()
    creds = {"login": account.email, "accessKey": key}
    with ServerProcess(settings) as server:
        agent = AgentProcess(server.url, token, root / "phone").start()
        try:
            seed_contacts(server.url, creds)
            home = root / "home"
            home.mkdir()
            world = World(server.url, creds, home)
            wait_for(lambda: world.api("account")["account"]["devices_connected"] == 1)
            yield world
        finally:
            agent.kill()


def seed_contacts(url: str, creds: dict[str, str]) -> None:
    """Through v1 `contact`: the client has no command that creates one."""
    people = [
        ("Cécile", "Dubois", CECILE, "cecile@example.com"),
        ("Jean", "Martin", JEAN, "jean@example.com"),
        ("Zoé", "Durand", ZOE, ""),
        ("Paul", "Spare", SPARE, ""),
        ("Marc", "Temp", TEMP, ""),
    ]
    contacts = [
        {"firstname": f, "lastname": last, "phone_number": p, "adress": "", "email": e}
        for f, last, p, e in people
    ]
    answer = http_client.post(
        f"{url}/api/v1/contact", json={"header": creds, "contacts": contacts}, timeout=30
    )
    items = answer.json()["data"]["contact"]
    assert [item["result"] for item in items] == ["success"] * len(people), items


def account_today() -> str:
    """Today in the account's zone, which is how date filters are read."""
    return datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()


def wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def has(obj: Any, **types: type | tuple[type, ...]) -> None:
    """Each key present with its type; bool is not an int here."""
    assert isinstance(obj, dict), obj
    for key, kind in types.items():
        assert key in obj, (key, obj)
        value = obj[key]
        assert isinstance(value, kind), (key, value, obj)
        if kind in (int, (int, float)):
            assert not isinstance(value, bool), (key, value)


def is_list_of_objects(value: Any) -> list[dict[str, Any]]:
    assert isinstance(value, list) and all(isinstance(v, dict) for v in value), value
    return value


def check_contact_card(contact: dict[str, Any]) -> None:
    """What `contacts search` and `find-phone` read (section 5.4)."""
    has(contact, id=str, firstname=str, lastname=str, phone_number=str, email=str, pro=bool)
    has(contact, tags=list, score=(int, float), match_type=str)
    assert all(isinstance(tag, str) for tag in contact["tags"])
    assert 0 <= contact["score"] <= 100


# --- account (3 commands, login and whoami included) ---------------------------


def test_login_whoami_account(world: World) -> None:
    out = world.human("login", world.account["login"], "--key", world.account["accessKey"])
    assert "Logged in successfully" in out
    saved = json.loads((world.home / ".insim" / "credentials.json").read_text())
    assert saved == {**world.account, "base_url": world.url}
    # From the file alone (no credentials in the environment).
    file_only = insim(world.url, ENV_CREDENTIALS_OFF, "--json", "whoami", home=world.home)
    assert file_only.returncode == 0, file_only
    account = json.loads(file_only.stdout)
    has(account, login=str, product=str, sms_credits=(int, float), country_code=str)
    has(account, active=bool, devices_connected=int)
    assert account["login"] == world.account["login"] and account["devices_connected"] == 1
    human = insim(world.url, ENV_CREDENTIALS_OFF, "whoami", home=world.home, json_mode=False)
    assert human.returncode == 0 and "Devices Connected: 1" in human.stdout, human
    world.record(("whoami",))

    info = world.json("account", "info")
    assert info["success"] is True
    has(info["account"], login=str, plan=str, credits=(int, float), options=dict)
    assert "Login:" in world.human("account", "info")

    hooks = world.json("account", "webhooks-set", "--sms", "http://127.0.0.1:9/in")
    assert hooks["success"] is True
    assert "Webhooks updated" in world.human("account", "webhooks-set", "--dlr", "")


# --- contacts (9 commands) -------------------------------------------------------


def test_contacts(world: World) -> None:
    listed = world.json("contacts", "list", "--limit", "100")
    contacts = is_list_of_objects(listed["contacts"])
    for contact in contacts:
        has(contact, id=str, lastname=str, firstname=str, phone_number=str, email=str)
    by_phone = {c["phone_number"]: c["id"] for c in contacts}
    assert {CECILE, JEAN, ZOE, SPARE, TEMP} <= set(by_phone)
    world.ids.update({phone: by_phone[phone] for phone in (CECILE, JEAN, ZOE, SPARE, TEMP)})
    assert listed["next_cursor"] is None and listed["has_more"] is False

    # Paging: a cursor from one page brings the next, with no overlap.
    first = world.json("contacts", "list", "--limit", "2", "--sort", "lastname", "--order", "asc")
    assert len(first["contacts"]) == 2 and isinstance(first["next_cursor"], str)
    second = world.json(
        "contacts", "list", "--limit", "2", "--sort", "lastname", "--order", "asc",
        "--cursor", first["next_cursor"],
    )  # fmt: skip
    seen = {c["id"] for c in first["contacts"]}
    assert second["contacts"] and not seen & {c["id"] for c in second["contacts"]}
    searched = world.json("contacts", "list", "--search", "cécile")
    assert [c["phone_number"] for c in searched["contacts"]] == [CECILE]

    found = world.json("contacts", "search", "cecile dubois")
    cards = is_list_of_objects(found["contacts"])
    assert cards and cards[0]["phone_number"] == CECILE
    for card in cards:
        check_contact_card(card)
    fuzzy = world.json("contacts", "search", "dubios", "--mode", "smart", "--fuzzy")
    assert fuzzy["contacts"] and fuzzy["contacts"][0]["phone_number"] == CECILE
    for mode in ("exact", "starts_with"):
        answer = world.json("contacts", "search", "Dub", "--mode", mode, "--no-fuzzy")
        for card in is_list_of_objects(answer["contacts"]):
            check_contact_card(card)

    by_number = world.json("contacts", "find-phone", "06 12 34 56 78")
    [card] = is_list_of_objects(by_number["contacts"])
    check_contact_card(card)
    assert card["id"] == world.ids[CECILE]

    cecile = world.ids[CECILE]
    detail = world.json("contacts", "detail", cecile)
    assert detail["success"] is True and detail["contact"]["id"] == cecile
    has(detail["contact"], tags=list, custom=dict, pro=bool, created=str)

    assert world.json("contacts", "switch-pro", cecile, "--pro")["success"] is True
    assert world.api("contacts/detail", id_contact=cecile)["contact"]["pro"] is True
    assert "success: True" in world.human("contacts", "switch-pro", cecile, "--perso")
    assert world.api("contacts/detail", id_contact=cecile)["contact"]["pro"] is False

    assert world.json("contacts", "tags-add", cecile, "VIP", "premium")["success"] is True
    assert world.json("contacts", "tags-remove", cecile, "premium")["success"] is True
    assert world.api("contacts/detail", id_contact=cecile)["contact"]["tags"] == ["vip"]

    custom = world.json("contacts", "custom-fields")
    assert custom["success"] is True

    assert world.json("contacts", "delete", world.ids[TEMP], "--confirm")["success"] is True
    assert not world.api("find_contact", phone_number=TEMP)["contacts"]


# --- lists (8 commands) ------------------------------------------------------------


def test_lists(world: World) -> None:
    created = world.json("lists", "create", "VIP", "--desc", "best clients")
    list_id = created["list_id"]
    assert isinstance(list_id, str) and created["list"]["name"] == "VIP"
    world.ids["list"] = list_id

    cecile, jean, zoe = (world.ids[p] for p in (CECILE, JEAN, ZOE))
    added = world.json("lists", "add-contacts", list_id, cecile, jean, zoe)
    assert added["success"] is True
    assert world.json("lists", "remove-contacts", list_id, zoe)["success"] is True

    listed = world.json("lists", "list")
    lists = is_list_of_objects(listed["lists"])
    for item in lists:
        has(item, id=str, name=str, contacts=int, created=str)
    [vip] = [item for item in lists if item["id"] == list_id]
    assert vip["contacts"] == 2

    detail = world.json("lists", "detail", list_id, "--limit", "10")
    assert detail["success"] is True
    members = is_list_of_objects(detail["contacts"])
    assert {m["id"] for m in members} == {cecile, jean}

    assert world.json("lists", "update", list_id, "--name", "VIPs")["success"] is True
    renamed = world.api("lists/detail", list_id=list_id)["list"]
    assert renamed["name"] == "VIPs" and renamed["description"] == "best clients"

    everyone = world.json("lists", "create", "Everyone")["list_id"]
    all_added = world.json("lists", "add-all", everyone)
    assert all_added["success"] is True
    has(all_added, added=int, skipped=int, total=int)
    assert all_added["added"] == 4  # the deleted contact is not one of them
    assert world.json("lists", "delete", everyone, "--confirm")["success"] is True
    assert everyone not in {item["id"] for item in world.api("lists")["lists"]}


# --- campaigns (5 commands) ---------------------------------------------------------


def test_campaigns(world: World) -> None:
    created = world.json(
        "campaigns", "create", "--name", "Spring", "--message", "Hello {firstname}",
        "--list", world.ids["list"], "--priority", "2",
    )  # fmt: skip
    campaign_id = created["campaign_id"]
    assert isinstance(campaign_id, str)
    world.ids["campaign"] = campaign_id

    detail = world.json("campaigns", "detail", campaign_id)["campaign"]
    has(detail, id=str, name=str, status=int, status_label=str, recipients=int, sent=int)
    assert detail["status"] == 0 and detail["recipients"] == 2

    other = world.json(
        "campaigns", "create", "--name", "Direct", "--message", "Hi",
        "--contacts", f"{world.ids[ZOE]}, ", "--phones", "+33600000001,0600000002",
    )["campaign_id"]  # fmt: skip
    assert world.api("campaigns/detail", campaign_id=other)["campaign"]["recipients"] == 3

    listed = world.json("campaigns", "list", "--limit", "10")
    campaigns = is_list_of_objects(listed["campaigns"])
    for item in campaigns:
        has(item, id=str, name=str, status=int, sent=int, created=str)
    assert {campaign_id, other} <= {item["id"] for item in campaigns}

    assert world.json("campaigns", "start", campaign_id, "--confirm")["success"] is True
    started = world.api("campaigns/detail", campaign_id=campaign_id)["campaign"]
    assert started["status"] in (1, 3), started
    assert world.json("campaigns", "cancel", other, "--confirm")["success"] is True
    assert world.api("campaigns/detail", campaign_id=other)["campaign"]["status"] == 4
    wait_for(
        lambda: world.api("campaigns/detail", campaign_id=campaign_id)["campaign"]["sent"] == 2
    )


# --- templates (5 commands) ---------------------------------------------------------


def test_templates(world: World) -> None:
    created = world.json("templates", "create", "--name", "Hi", "--message", "Hi {firstname}")
    template_id = created["template_id"]
    assert isinstance(template_id, str) and created["template"]["variables"] == ["firstname"]
    world.ids["template"] = template_id

    assert world.json(
        "templates", "update", template_id, "--message", "Hi {firstname}, {custom.when}"
    )["success"]
    listed = world.json("templates", "list")
    templates = is_list_of_objects(listed["templates"])
    for item in templates:
        has(item, id=str, name=str, message=str)
    assert any(t["message"] == "Hi {firstname}, {custom.when}" for t in templates)

    sent = world.json(
        "templates", "send", template_id, "--to", CECILE, "--vars", '{"custom.when": "today"}'
    )
    [result] = is_list_of_objects(sent["result"])
    assert result["sent"] == 1 and isinstance(result["sms_id"], str), sent
    assert sent["sent_count"] == 1
    world.ids["template_sms"] = result["sms_id"]

    spare = world.json("templates", "create", "--name", "Bye", "--message", "Bye")["template_id"]
    assert world.json("templates", "delete", spare, "--confirm")["success"] is True


# --- sms (5 commands) ----------------------------------------------------------------


def test_sms(world: World) -> None:
    sent = world.json("sms", "send", JEAN, "Your code is 1234 [link]", "--url", "https://e.com/")
    [result] = is_list_of_objects(sent["result"])
    assert result["sent"] == 1 and sent["sent_count"] == 1
    sms_id = result["sms_id"]
    assert isinstance(sms_id, str) and sms_id
    world.ids["sms"] = sms_id
    assert "1 message(s)" in world.human("sms", "send", ZOE, "Hello Zoé")

    listed = world.json("sms", "list", "--direction", "outbound", "--limit", "50")
    messages = is_list_of_objects(listed["messages"])
    for message in messages:
        has(message, sms_id=str, direction=str, phone_number=str, message=str, date=str)
        assert message["direction"] == "outbound"
    assert sms_id in {m["sms_id"] for m in messages}
    for direction in ("all", "inbound"):
        answer = world.json("sms", "list", "--direction", direction, "--phone", JEAN)
        is_list_of_objects(answer["messages"])
    today = account_today()
    dated = world.json("sms", "list", "--from", today, "--to", today, "--limit", "100")
    assert sms_id in {m["sms_id"] for m in dated["messages"]}

    detail = world.json("sms", "detail", sms_id)
    assert detail["success"] is True and detail["sms"]["sms_id"] == sms_id

    conversation = world.json("sms", "conversation", JEAN, "--limit", "20")
    talk = is_list_of_objects(conversation["messages"])
    assert talk and all(m["phone_number"] == JEAN for m in talk)
    dates = [m["date"] for m in talk]
    assert dates == sorted(dates)  # in time order

    one = world.json("sms", "delivery-status", sms_id)
    [status] = is_list_of_objects(one["statuses"])
    has(status, sms_id=str, phone_number=str, delivery_status=str, description=str)
    assert status["delivery_status"] in DELIVERY_STATES
    assert isinstance(status["message_preview"], str)
    wait_for(
        lambda: (
            world.api("sms/delivery_status", sms_id=sms_id)["statuses"][0]["delivery_status"]
            == "delivered"
        )
    )
    two = world.json("sms", "delivery-status", sms_id, "no-such-id")
    states = [s["delivery_status"] for s in is_list_of_objects(two["statuses"])]
    assert states == ["delivered", "not_found"]


# --- calls and qualifications (3 + 6 commands) -----------------------------------------


def test_calls_and_qualifications(world: World) -> None:
    assert world.json("calls", "clictocall", CECILE)["success"] is True
    # The simulated phone dials and reports an outgoing call.
    wait_for(lambda: bool(world.api("calls", phone_number=CECILE)["calls"]))
    listed = world.json("calls", "list", "--type", "all", "--limit", "10")
    calls = is_list_of_objects(listed["calls"])
    for call in calls:
        has(call, id=str, type=str, phone_number=str, duration=int, call_time=str, qualified=bool)
    outgoing = world.json("calls", "list", "--type", "outgoing")["calls"]
    call_id = outgoing[0]["id"]
    assert world.api("calls", type="missed")["calls"] == []

    created = world.json("qualifications", "options-create", "Interested")
    option = created["option"]
    has(option, _id=str, label=str)
    option_id = option["_id"]
    spare = world.json("qualifications", "options-create", "Spare")["option"]["_id"]
    updated = world.json("qualifications", "options-update", option_id, "Very interested")
    assert updated["success"] is True
    options = is_list_of_objects(world.json("qualifications", "options")["options"])
    for item in options:
        has(item, _id=str, label=str)
    assert {"_id": option_id, "label": "Very interested"}.items() <= next(
        o for o in options if o["_id"] == option_id
    ).items()

    qualified = world.json("calls", "qualify", call_id, "--option", option_id, "--notes", "later")
    assert qualified["success"] is True
    assert world.api("calls", phone_number=CECILE)["calls"][0]["qualified"] is True

    assert world.json("qualifications", "list", "--phone", CECILE, "--limit", "5")["success"]
    assert world.json("qualifications", "list")["success"] is True
    assert world.json("qualifications", "stats")["success"] is True
    today = account_today()
    assert world.json("qualifications", "stats", "--from", today, "--to", today)["success"]

    assert world.json("qualifications", "options-delete", spare)["success"] is True
    left = world.json("qualifications", "options")["options"]
    assert spare not in {o["_id"] for o in left}


# --- stats (2 commands) ---------------------------------------------------------------


def test_stats(world: World) -> None:
    assert world.json("stats", "overview")["success"] is True
    today = account_today()
    assert world.json("stats", "overview", "--from", today, "--to", today)["success"] is True
    assert world.json("stats", "clicks", "--limit", "5")["success"] is True


# --- the human output, the prompts and the errors -----------------------------------------


def test_human_mode_of_the_list_commands(world: World) -> None:
    assert "Dubois" in world.human("contacts", "list", "--limit", "50")
    assert "Score:" in world.human("contacts", "search", "cecile")
    assert "Tags: vip" in world.human("contacts", "find-phone", CECILE)
    assert ">>" in world.human("sms", "list", "--limit", "10")
    assert JEAN in world.human("sms", "conversation", JEAN)
    assert "DELIVERED" in world.human("sms", "delivery-status", world.ids["sms"], "nope")
    assert CECILE in world.human("calls", "list")
    assert "Very interested" in world.human("qualifications", "options")
    assert "VIPs" in world.human("lists", "list")
    assert "Spring" in world.human("campaigns", "list")
    assert "Hi {firstname}" in world.human("templates", "list")
    # The generic dumps print any object; one of them, for the record.
    assert "success: True" in world.human("campaigns", "detail", world.ids["campaign"])


def test_confirmation_prompts(world: World) -> None:
    spare = world.ids[SPARE]
    scratch_list = world.api("lists/create", name="Scratch")["list_id"]
    scratch_template = world.api("templates/create", name="S", message="S")["template_id"]
    to_start, to_cancel = (
        world.api("campaigns/create", name=name, message="M", phone_numbers=[ZOE])["campaign_id"]
        for name in ("Now", "Never")
    )
    prompted = [
        (("contacts", "delete", spare), ("contacts/detail", {"id_contact": spare})),
        (("lists", "delete", scratch_list), ("lists/detail", {"list_id": scratch_list})),
        (("templates", "delete", scratch_template), None),
        (("campaigns", "start", to_start), ("campaigns/detail", {"campaign_id": to_start})),
        (("campaigns", "cancel", to_cancel), ("campaigns/detail", {"campaign_id": to_cancel})),
    ]
    for command, check in prompted:
        out = world.fails(*command, stdin="n\n")
        assert "Aborted!" in out, (command, out)
        if check is not None:  # nothing was sent: the object is as it was
            endpoint, fields = check
            world.api(endpoint, **fields)
    for campaign_id in (to_start, to_cancel):
        assert world.api("campaigns/detail", campaign_id=campaign_id)["campaign"]["status"] == 0
    templates = world.api("templates")["templates"]
    assert scratch_template in {t["id"] for t in templates}

    for command, _ in prompted:
        world.human(*command, stdin="y\n")
    assert world.api("campaigns/detail", campaign_id=to_start)["campaign"]["status"] in (1, 3)
    assert world.api("campaigns/detail", campaign_id=to_cancel)["campaign"]["status"] == 4
    out = world.fails("contacts", "detail", spare)
    assert "Error [NOT_FOUND]" in out and "Field: id_contact" in out, out
    templates = world.api("templates")["templates"]
    assert scratch_template not in {t["id"] for t in templates}


def test_error_display(world: World) -> None:
    cases = [
        (("lists", "detail", "999999"), "NOT_FOUND", "list_id"),
        (("campaigns", "detail", "nope"), "NOT_FOUND", "campaign_id"),
        (("sms", "detail", "nope"), "NOT_FOUND", "sms_id"),
        (("contacts", "list", "--limit", "0"), "VALIDATION_ERROR", "limit"),
        (("lists", "create", ""), "MISSING_FIELD", "name"),
        (("calls", "qualify", "1", "--option", "999999"), "NOT_FOUND", None),
    ]
    for command, code, field_name in cases:
        out = world.fails(*command)
        assert f"Error [{code}]" in out, (command, out)
        if field_name:
            assert f"Field: {field_name}" in out, (command, out)
    # Started campaigns cannot start again.
    out = world.fails("campaigns", "start", world.ids["campaign"], "--confirm")
    assert "Error [INVALID_STATE]" in out, out
    stranger = {"login": "nobody@example.com", "accessKey": "nope"}
    done = insim(world.url, stranger, "whoami", home=world.home / "stranger", json_mode=False)
    assert done.returncode == 1 and "Error [INVALID_CREDENTIALS]" in done.stderr


def test_every_network_command_ran(world: World) -> None:
    if len(world.ran) < 10:
        pytest.skip("the whole module runs them")
    assert world.ran == NETWORK_COMMANDS, NETWORK_COMMANDS ^ world.ran
    assert len(NETWORK_COMMANDS) == 47
