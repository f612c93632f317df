"""Campaigns: a message to many recipients, fixed when it is made, sent when
it is started, stoppable until each message is with a phone.

- create: recipients are resolved at once (a list's live members, contact
  ids, numbers in any format) into one row per E.164 number, in one
  transaction with the campaign.
- start: every recipient becomes a message through sendsms' own path
  (services/messages.judge_batch outside the transaction, store_judged in
  it, beside the status change), each message carrying the campaign's id.
- cancel: in one transaction, every message of it no phone holds yet fails
  with "campaign cancelled", its `failed` event and status webhook queued as
  for any failure (services/dispatch.fail_messages).
- counts come from its messages, one GROUP BY for a whole page of campaigns;
  completion (status 3) is noticed on read and then stored with the time its
  last message was sent or failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import campaigns as status
from simgate.domain import refusals
from simgate.domain import templates as render
from simgate.domain.campaigns import Counts
from simgate.domain.messages import Rejected, judge
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.errors import Conflict, Invalid, Missing, NotFound
from simgate.services import dispatch
from simgate.services.accounts import Account
from simgate.services.messages import judge_batch, store_judged
from simgate.services.sending_policy import OPTED_OUT
from simgate.services.templates import contact_values
from simgate.store import campaigns as store
from simgate.store import lists as list_store
from simgate.store import recipients as people
from simgate.store import suppressions
from simgate.store import templates as template_store
from simgate.store.campaigns import CampaignRow, RecipientRow
from simgate.store.db import reading, run_write

CANCELLED_REASON = "campaign cancelled"
FAIL_CHUNK = 5000  # message ids per UPDATE ... IN (...) when cancelling
PROBE_NUMBER = "+33612345678"  # stands for any recipient when checking the text alone


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign as asked for; numbers and ids as the client gave them."""

    name: str
    message: str = ""
    template_id: int | None = None
    url: str | None = None
    priority: int = 0
    send_at: datetime | None = None
    list_id: int | None = None
    contact_ids: list[str] | None = None
    phone_numbers: list[str] | None = None


@dataclass(frozen=True, slots=True)
class RefusedRecipient:
    """A recipient left out of a campaign, and why."""

    value: str  # the number or contact id as given
    field: str  # phone_numbers, contact_ids, or the template variable without a value
    error: str


@dataclass(frozen=True, slots=True)
class CampaignView:
    row: CampaignRow
    counts: Counts
    status: int
    completed_at: datetime | None
    refused: list[RefusedRecipient] = field(default_factory=list)

    @property
    def label(self) -> str:
        return status.label(self.status)


@dataclass(frozen=True, slots=True)
class Started:
    queued: int  # messages stored
    refused: list[tuple[str, refusals.Refusal]]  # (number, why) left unsent


# --- create ----------------------------------------------------------------------


def create_campaign(
    engine: Engine,
    account: Account,
    spec: CampaignSpec,
    public_url: str,
    clock: Clock = SYSTEM_CLOCK,
) -> CampaignView:
    if spec.list_id is None and spec.contact_ids is None and spec.phone_numbers is None:
        raise Missing("list_id", "give list_id, contact_ids or phone_numbers")
    now = clock.now()
    text = spec.message
    if spec.template_id is not None:
        with reading(engine) as conn:
            template = template_store.get_template(conn, account.id, spec.template_id)
        if template is None:
            raise NotFound(f"no template {spec.template_id}", field="template_id")
        if text.strip():
            raise Invalid("template_id", "give message or template_id, not both")
        text = template.message
    elif not text.strip():
        raise Missing("message")
    _check_text(account, text, spec, public_url, now)

    refused: list[RefusedRecipient] = []
    numbers = _parse_numbers(spec.phone_numbers or [], account.region, refused)
    contact_ids = _parse_ids(spec.contact_ids or [], refused)

    def work(conn: Connection) -> tuple[int, list[RecipientRow]]:
        chosen = _resolve(conn, account, spec.list_id, contact_ids, numbers, text, refused)
        if not chosen and refused:
            first = refused[0]
            raise Invalid(first.field, f"no valid recipient; {first.value!r}: {first.error}")
        values = {
            "name": spec.name,
            "message": text,
            "url": spec.url,
            "priority": spec.priority,
            "status": status.READY if chosen else status.NO_RECIPIENTS,
            "list_id": spec.list_id,
            "template_id": spec.template_id,
            "send_at": spec.send_at,
        }
        return store.insert_campaign(conn, account.id, values, chosen, now), chosen

    campaign_id, _ = run_write(engine, work, heavy=True)
    view = get_campaign(engine, account, campaign_id)
    return CampaignView(view.row, view.counts, view.status, view.completed_at, refused)


def _check_text(
    account: Account, text: str, spec: CampaignSpec, public_url: str, now: datetime
) -> None:
    """The text, url and priority pass the send path's own checks."""
    probe = {
        "phone_number": PROBE_NUMBER,
        "message": text,
        "url": spec.url,
        "priority": spec.priority,
    }
    verdict = judge(probe, account.region, account.tz, public_url, now, lambda: "x")
    if isinstance(verdict, Rejected):
        why = refusals.from_codes(verdict.errors)
        error = Missing if why.error_code == "MISSING_FIELD" else Invalid
        raise error(why.field, f"{why.field}: {why.error}")


def _parse_numbers(raw: list[str], region: str, refused: list[RefusedRecipient]) -> list[str]:
    numbers: list[str] = []
    for value in raw:
        try:
            numbers.append(to_e164(value, region))
        except InvalidNumber:
            refused.append(RefusedRecipient(value, "phone_numbers", "not a valid phone number"))
    return numbers


def _parse_ids(raw: list[str], refused: list[RefusedRecipient]) -> list[tuple[str, int]]:
    ids: list[tuple[str, int]] = []
    for value in raw:
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 9:
            ids.append((value, int(text)))
        else:
            refused.append(RefusedRecipient(value, "contact_ids", "no such contact"))
    return ids


def _resolve(
    conn: Connection,
    account: Account,
    list_id: int | None,
    contact_ids: list[tuple[str, int]],
    numbers: list[str],
    text: str,
    refused: list[RefusedRecipient],
) -> list[RecipientRow]:
    """One row per number: the list's live members, then the contacts named,
    then the numbers given (a number seen before is not added again)."""
    chosen: dict[str, people.ContactRow | None] = {}
    if list_id is not None:
        if not list_store.exists(conn, account.id, list_id):
            raise NotFound(f"no list {list_id}", field="list_id")
        for member in people.list_members_of(conn, account.id, list_id):
            chosen.setdefault(member.phone_number, member)
    if contact_ids:
        found = people.by_ids(conn, account.id, [i for _, i in contact_ids])
        for raw, contact_id in contact_ids:
            contact = found.get(contact_id)
            if contact is None:
                refused.append(RefusedRecipient(raw, "contact_ids", "no such contact"))
            else:
                chosen.setdefault(contact.phone_number, contact)
    if numbers:
        known = people.by_numbers(conn, account.id, [n for n in numbers if n not in chosen])
        for number in numbers:
            chosen.setdefault(number, known.get(number))
    if render.has_variables(text):
        for number, contact in list(chosen.items()):
            try:
                render.render(text, number, None, contact_values(contact))
            except render.MissingVariable as missing:
                refused.append(RefusedRecipient(number, missing.variable, str(missing)))
                del chosen[number]
    return [RecipientRow(n, c.id if c else None) for n, c in chosen.items()]


# --- start and cancel ------------------------------------------------------------


def _find(conn: Connection, account: Account, campaign_id: int, lock: bool = False) -> CampaignRow:
    row = store.get_campaign(conn, account.id, campaign_id, lock=lock)
    if row is None:
        raise NotFound(f"no campaign {campaign_id}", field="campaign_id")
    return row


def start_campaign(
    engine: Engine,
    account: Account,
    campaign_id: int,
    public_url: str,
    clock: Clock = SYSTEM_CLOCK,
) -> Started:
    """Turn every recipient into a message, in one transaction with the
    status change; only a ready campaign starts."""
    with reading(engine) as conn:
        row = _find(conn, account, campaign_id)
        _startable(row)
        recipients = store.recipients_of(conn, campaign_id)
        personal = render.has_variables(row.message)
        known = (
            people.by_numbers(conn, account.id, [r.phone_number for r in recipients])
            if personal
            else {}
        )
    now = clock.now()
    when = _send_date(row.send_at, now)
    items: list[dict[str, Any]] = []
    refused: list[tuple[str, refusals.Refusal]] = []
    for recipient in recipients:
        text = row.message
        if personal:
            contact = contact_values(known.get(recipient.phone_number))
            try:
                text = render.render(text, recipient.phone_number, None, contact)
            except render.MissingVariable as missing:
                why = refusals.Refusal("VALIDATION_ERROR", missing.variable, str(missing))
                refused.append((recipient.phone_number, why))
                continue
        items.append(
            {
                "phone_number": recipient.phone_number,
                "message": text,
                "url": row.url,
                "priority": row.priority,
                "date_to_send": when,
            }
        )
    # The numbers were checked when the campaign was made.
    judged = judge_batch(account, items, public_url, now, trusted_numbers=True) if items else []
    refused += [
        (str(v.phone_number), refusals.from_codes(v.errors))
        for v in judged
        if isinstance(v, Rejected)
    ]

    def work(conn: Connection) -> tuple[int, list[tuple[str, refusals.Refusal]]]:
        if not store.set_status(
            conn, campaign_id, status.SENDING, status.STARTABLE, started_at=now
        ):
            _startable(_find(conn, account, campaign_id))  # raises: it changed meanwhile
        answers, stored = store_judged(conn, account, judged, now, campaign_id=campaign_id)
        # The opt-out list's refusals are the store path's (the judge's are above).
        opted_out = [
            (str(a["phone_number"]), refusals.from_codes(a["errors"]))
            for a in answers
            if a.get("errors") == [OPTED_OUT]
        ]
        return stored, opted_out

    stored, opted_out = run_write(engine, work, heavy=True)
    return Started(stored, refused + opted_out)


def _startable(row: CampaignRow) -> None:
    if row.status not in status.STARTABLE:
        why = (
            "it has no recipients"
            if row.status == status.NO_RECIPIENTS
            else (f"it is {status.label(row.status)}")
        )
        raise Conflict(f"only a ready campaign starts; {why}", field="campaign_id")


def _send_date(send_at: datetime | None, now: datetime) -> str:
    """The campaign's date_to_send as the send path reads it (UTC, with offset)."""
    return send_at.isoformat() + "+00:00" if send_at is not None and send_at > now else ""


def cancel_campaign(
    engine: Engine, account: Account, campaign_id: int, clock: Clock = SYSTEM_CLOCK
) -> int:
    """Stop a campaign; returns how many of its messages were stopped."""
    now = clock.now()

    def work(conn: Connection) -> int:
        row = _find(conn, account, campaign_id, lock=True)
        if row.status not in status.CANCELLABLE:
            raise Conflict(
                "only a ready or sending campaign can be cancelled; "
                f"it is {status.label(row.status)}",
                field="campaign_id",
            )
        if row.status == status.SENDING:
            counts = status.counts_of(store.states_by_campaign(conn, [campaign_id])[campaign_id])
            if counts.pending == 0:
                raise Conflict(
                    "the campaign is completed: nothing left to cancel", field="campaign_id"
                )
        unsent = store.unsent_messages(conn, campaign_id)
        for start in range(0, len(unsent), FAIL_CHUNK):
            chunk = unsent[start : start + FAIL_CHUNK]
            dispatch.fail_messages(conn, chunk, CANCELLED_REASON, now, now=now)
        store.set_status(conn, campaign_id, status.CANCELLED, status.CANCELLABLE, cancelled_at=now)
        return len(unsent)

    return run_write(engine, work)


# --- reading ---------------------------------------------------------------------


def get_campaign(engine: Engine, account: Account, campaign_id: int) -> CampaignView:
    with reading(engine) as conn:
        row = _find(conn, account, campaign_id)
        [view] = _views(conn, [row])
    _store_completions(engine, [view])
    return view


def list_campaigns(
    engine: Engine, account: Account, limit: int, after: tuple[datetime, int] | None = None
) -> tuple[list[CampaignView], bool]:
    """A page of campaigns, newest first, with their counts; and whether more follow."""
    with reading(engine) as conn:
        rows = store.page_of_campaigns(conn, account.id, limit + 1, after)
        views = _views(conn, rows[:limit])
    _store_completions(engine, views)
    return views, len(rows) > limit


def _views(conn: Connection, rows: list[CampaignRow]) -> list[CampaignView]:
    ids = [r.id for r in rows]
    states = store.states_by_campaign(conn, ids)
    clicks = store.clicks_by_campaign(conn, ids)
    opted_out = suppressions.refused_per_campaign(conn, ids)
    counted = [
        (r, status.counts_of(states[r.id], clicks.get(r.id, 0), opted_out.get(r.id, 0)))
        for r in rows
    ]
    noticed = [r.id for r, c in counted if status.shown_status(r.status, c) != r.status]
    settled = store.settled_at(conn, noticed) if noticed else {}
    views = []
    for row, counts in counted:
        shown = status.shown_status(row.status, counts)
        completed = settled.get(row.id, row.started_at) if row.id in noticed else row.completed_at
        views.append(CampaignView(row, counts, shown, completed))
    return views


def _store_completions(engine: Engine, views: list[CampaignView]) -> None:
    """Campaigns seen complete for the first time keep that status (it never
    changes back: nothing of a started campaign becomes pending again)."""
    done = {v.row.id: v.completed_at for v in views if v.status != v.row.status}
    if done:
        run_write(
            engine,
            lambda conn: store.mark_completed(conn, done, status.SENDING, status.COMPLETED),
        )


def list_choices(engine: Engine, account: Account) -> list[list_store.ListChoice]:
    """The account's contact lists, to pick one for a campaign (dashboard)."""
    with reading(engine) as conn:
        return list_store.choices(conn, account.id)
