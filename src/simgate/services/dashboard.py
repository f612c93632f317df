"""Queries and small updates behind the dashboard pages, always scoped to one account.

Every function takes the account id (or Account) first so that no page can
read or change another account's rows. Times in and out are naive UTC; the
web layer shows them in the account's time zone.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    and_,
    case,
    delete,
    func,
    or_,
    select,
    update,
)

from simgate.domain.dates import utcnow
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.errors import NotFound
from simgate.services.accounts import Account
from simgate.services.contacts import EMAIL_RE, upsert_contacts
from simgate.services.devices import STALE_AFTER
from simgate.services.qualifications import record_qualification
from simgate.store.tables import (
    accounts,
    calls,
    contacts,
    devices,
    link_clicks,
    message_events,
    messages,
    qualifications,
    webhooks,
)

STATES = ("scheduled", "queued", "dispatched", "sent", "received", "failed")
PAGE_SIZE = 50
WAITING_CAP = 9999


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]  # result rows, or the dataclass a query builds per row
    page: int
    has_next: bool


def _page(conn: Connection, query: Any, page: int, size: int = PAGE_SIZE) -> Page:
    page = max(page, 1)
    rows = list(conn.execute(query.limit(size + 1).offset((page - 1) * size)))
    return Page(rows[:size], page, len(rows) > size)


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of `now`'s day in `tz`, as naive UTC."""
    local = now.replace(tzinfo=UTC).astimezone(tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC).replace(tzinfo=None)


# --- overview ------------------------------------------------------------------
# Counts are about the messages *accepted* in a period, by what became of them
# ("of today's 120 messages, 118 sent, 117 delivered"). That reading is served by
# the (account_id, created_at) index, so the overview costs the period's rows,
# never the account's whole history, however often it refreshes.


@dataclass(frozen=True, slots=True)
class Counts:
    sent: int  # reached the network: sent, delivered, or failed after sending
    delivered: int
    failed: int

    @property
    def rate(self) -> float | None:
        """Share of the sent messages that were delivered."""
        return self.delivered / self.sent if self.sent else None


@dataclass(frozen=True, slots=True)
class Overview:
    today: Counts
    week: Counts
    waiting: int  # scheduled, queued or dispatched now; WAITING_CAP + 1 means "more"
    phones_online: int
    phones: int
    hours: list[tuple[datetime, int, int]] = field(default_factory=list)  # (UTC hour, sent, dlr)


def _flags() -> tuple[Any, Any, Any]:
    sent = or_(messages.c.sent_at.is_not(None), messages.c.delivered_at.is_not(None))
    return sent, messages.c.delivered_at.is_not(None), messages.c.state == "failed"


def _n(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _hour(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD HH24:00:00")
    return func.strftime("%Y-%m-%d %H:00:00", column)


def overview(engine: Engine, account: Account, now: datetime | None = None) -> Overview:
    now = now or utcnow()
    today = local_midnight(now, account.tz)
    local_today = now.replace(tzinfo=UTC).astimezone(account.tz)
    week = local_midnight(now - timedelta(days=local_today.weekday()), account.tz)
    first_hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    sent, delivered, failed = _flags()
    mine = messages.c.account_id == account.id
    with engine.connect() as conn:
        is_today = messages.c.created_at >= today
        row = conn.execute(
            select(
                _n(and_(is_today, sent)),
                _n(and_(is_today, delivered)),
                _n(and_(is_today, failed)),
                _n(sent),
                _n(delivered),
                _n(failed),
            ).where(mine, messages.c.created_at >= week)
        ).one()
        hour = _hour(conn, messages.c.created_at).label("hour")
        per_hour = {
            key: (int(s), int(d))
            for key, s, d in conn.execute(
                select(hour, _n(sent), _n(delivered))
                .where(mine, messages.c.created_at >= first_hour)
                .group_by(hour)
            )
        }
        hours = []
        for i in range(24):
            moment = first_hour + timedelta(hours=i)
            counts = per_hour.get(moment.strftime("%Y-%m-%d %H:00:00"), (0, 0))
            hours.append((moment, *counts))
        # A backlog can be large (no phone online for a day): count up to a cap.
        backlog = (
            select(messages.c.id)
            .where(mine, messages.c.state.in_(("scheduled", "queued", "dispatched")))
            .limit(WAITING_CAP + 1)
            .subquery()
        )
        waiting = conn.execute(select(func.count()).select_from(backlog)).scalar_one()
        online, total = conn.execute(
            select(
                _n(
                    and_(
                        devices.c.online_node.is_not(None),
                        devices.c.last_seen_at > utcnow() - STALE_AFTER,
                    )
                ),
                func.count(),
            ).where(devices.c.account_id == account.id, devices.c.removed_at.is_(None))
        ).one()
    return Overview(
        today=Counts(*(int(v) for v in row[:3])),
        week=Counts(*(int(v) for v in row[3:])),
        waiting=int(waiting),
        phones_online=int(online),
        phones=int(total),
        hours=hours,
    )


# --- messages ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageFilter:
    number: str = ""
    state: str = ""
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive


def list_messages(engine: Engine, account_id: int, filt: MessageFilter, page: int = 1) -> Page:
    query = select(messages).where(messages.c.account_id == account_id)
    # Match what people type: "06 12 34", "+33 6 12", "0033612": national and
    # international prefixes start with zeros, E.164 numbers never do.
    digits = "".join(ch for ch in filt.number if ch.isdigit()).lstrip("0")
    if digits:
        query = query.where(messages.c.phone_number.contains(digits, autoescape=True))
    if filt.state in STATES:
        query = query.where(messages.c.state == filt.state)
    if filt.since is not None:
        query = query.where(messages.c.created_at >= filt.since)
    if filt.until is not None:
        query = query.where(messages.c.created_at < filt.until)
    query = query.order_by(messages.c.created_at.desc(), messages.c.id.desc())
    with engine.connect() as conn:
        return _page(conn, query, page)


@dataclass(frozen=True, slots=True)
class MessageDetail:
    message: Row[Any]
    timeline: list[tuple[datetime, str, str]]  # (when, state, detail)
    clicks: list[Row[Any]]

    @property
    def final(self) -> bool:
        return self.message.state in ("received", "failed")


def message_detail(engine: Engine, account_id: int, message_id: int) -> MessageDetail:
    with engine.connect() as conn:
        row = conn.execute(
            select(messages).where(messages.c.id == message_id, messages.c.account_id == account_id)
        ).first()
        if row is None:
            raise NotFound(f"no message {message_id}")
        events = conn.execute(
            select(message_events)
            .where(message_events.c.message_id == message_id)
            .order_by(message_events.c.at, message_events.c.id)
        ).all()
        clicks = conn.execute(
            select(link_clicks)
            .where(link_clicks.c.message_id == message_id)
            .order_by(link_clicks.c.clicked_at.desc())
            .limit(200)
        ).all()
    # The time columns always tell the life cycle; events add retries and details.
    timeline = [(row.created_at, "created", "scheduled" if row.send_at > row.created_at else "")]
    for column, state in (
        ("dispatched_at", "dispatched"),
        ("sent_at", "sent"),
        ("delivered_at", "received"),
        ("failed_at", "failed"),
    ):
        if row._mapping[column] is not None:
            detail = row.fail_reason or "" if state == "failed" else ""
            timeline.append((row._mapping[column], state, detail))
    seen = {(state, when) for when, state, _ in timeline}
    for event in events:
        if (event.state, event.at) not in seen:
            timeline.append((event.at, event.state, event.detail or ""))
    timeline.sort(key=lambda item: item[0])
    return MessageDetail(row, timeline, list(clicks))


def message_ids(engine: Engine, account_id: int, client_ids: list[str]) -> dict[str, int]:
    """id_sms_api → row id, to link the send form's results to message pages."""
    if not client_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(messages.c.id_sms_api, messages.c.id).where(
                messages.c.account_id == account_id, messages.c.id_sms_api.in_(client_ids)
            )
        )
        return {r.id_sms_api: int(r.id) for r in rows}


# --- links ---------------------------------------------------------------------


def list_links(engine: Engine, account_id: int, page: int = 1) -> Page:
    """A page of tracked links, newest first, with clicks by people and by previews."""
    # Page the messages first (by the account/created index), then count the
    # clicks of those 50 only: the cost does not grow with the account's history.
    query = (
        select(
            messages.c.id,
            messages.c.phone_number,
            messages.c.url,
            messages.c.short_code,
            messages.c.created_at,
        )
        .where(messages.c.account_id == account_id, messages.c.short_code.is_not(None))
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
    )
    with engine.connect() as conn:
        result = _page(conn, query, page)
        ids = [row.id for row in result.rows]
        clicks: dict[int, tuple[int, int, datetime | None]] = {}
        if ids:
            for message_id, people, previews, last in conn.execute(
                select(
                    link_clicks.c.message_id,
                    _n(link_clicks.c.is_preview.is_(False)),
                    _n(link_clicks.c.is_preview.is_(True)),
                    func.max(link_clicks.c.clicked_at),
                )
                .where(link_clicks.c.message_id.in_(ids))
                .group_by(link_clicks.c.message_id)
            ):
                clicks[message_id] = (int(people), int(previews), last)
    rows = [
        LinkRow(
            r.id, r.phone_number, r.url, r.short_code, r.created_at, *clicks.get(r.id, (0, 0, None))
        )
        for r in result.rows
    ]
    return Page(rows, result.page, result.has_next)


@dataclass(frozen=True, slots=True)
class LinkRow:
    id: int
    phone_number: str
    url: str
    short_code: str
    created_at: datetime
    people: int
    previews: int
    last_click: datetime | None


def link_totals(engine: Engine, account_id: int) -> tuple[int, int]:
    """(clicks by people, clicks by link previews) over all of the account's links."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(link_clicks.c.is_preview, func.count())
            .join(messages, messages.c.id == link_clicks.c.message_id)
            .where(messages.c.account_id == account_id)
            .group_by(link_clicks.c.is_preview)
        )
        totals = {bool(preview): int(n) for preview, n in rows}
    return totals.get(False, 0), totals.get(True, 0)


# --- contacts ------------------------------------------------------------------

CSV_FIELDS = ("phone_number", "firstname", "lastname", "address", "email")
# Headers people actually use for the same columns (lower-cased, spaces → _).
CSV_ALIASES = {
    "phonenumber": "phone_number",
    "phone": "phone_number",
    "number": "phone_number",
    "first_name": "firstname",
    "last_name": "lastname",
    "adress": "address",
    "e-mail": "email",
}
MAX_IMPORT_ROWS = 50_000


def list_contacts(engine: Engine, account_id: int, search: str = "", page: int = 1) -> Page:
    query = select(contacts).where(contacts.c.account_id == account_id)
    words = search.split()
    for word in words[:5]:
        pattern = f"%{word}%"
        query = query.where(
            or_(
                contacts.c.firstname.ilike(pattern),
                contacts.c.lastname.ilike(pattern),
                contacts.c.email.ilike(pattern),
                contacts.c.phone_number.contains(word.lstrip("0") or word, autoescape=True),
            )
        )
    query = query.order_by(contacts.c.lastname, contacts.c.firstname, contacts.c.id)
    with engine.connect() as conn:
        return _page(conn, query, page)


def get_contact(engine: Engine, account_id: int, contact_id: int) -> Row[Any]:
    with engine.connect() as conn:
        row = conn.execute(
            select(contacts).where(contacts.c.id == contact_id, contacts.c.account_id == account_id)
        ).first()
    if row is None:
        raise NotFound(f"no contact {contact_id}")
    return row


def update_contact(
    engine: Engine, account: Account, contact_id: int, values: dict[str, str]
) -> dict[str, str]:
    """Save an edited contact; returns errors by field (empty when saved)."""
    errors: dict[str, str] = {}
    clean = {k: (values.get(k) or "").strip()[:500] for k in CSV_FIELDS}
    try:
        clean["phone_number"] = to_e164(clean["phone_number"], account.region)
    except InvalidNumber:
        errors["phone_number"] = "not a valid phone number"
    if clean["email"] and not EMAIL_RE.match(clean["email"]):
        errors["email"] = "not a valid e-mail address"
    if errors:
        return errors
    with engine.begin() as conn:
        clash = conn.execute(
            select(contacts.c.id).where(
                contacts.c.account_id == account.id,
                contacts.c.phone_number == clean["phone_number"],
                contacts.c.id != contact_id,
            )
        ).first()
        if clash:
            return {"phone_number": "another contact already has this number"}
        changed = conn.execute(
            update(contacts)
            .where(contacts.c.id == contact_id, contacts.c.account_id == account.id)
            .values(**clean, updated_at=utcnow())
        ).rowcount
    if not changed:
        raise NotFound(f"no contact {contact_id}")
    return {}


def delete_contact(engine: Engine, account_id: int, contact_id: int) -> None:
    with engine.begin() as conn:
        changed = conn.execute(
            delete(contacts).where(contacts.c.id == contact_id, contacts.c.account_id == account_id)
        ).rowcount
    if not changed:
        raise NotFound(f"no contact {contact_id}")


def export_contacts(engine: Engine, account_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    with engine.connect() as conn:
        rows = conn.execute(
            select(*(contacts.c[name] for name in CSV_FIELDS))
            .where(contacts.c.account_id == account_id)
            .order_by(contacts.c.id)
        )
        for phone_number, *rest in rows:
            # The number is E.164 and always starts with "+": it is the one cell left as is.
            writer.writerow([phone_number, *(spreadsheet_safe(v) for v in rest)])
    return out.getvalue()


# What spreadsheets read as the start of a formula (OWASP "CSV injection"): = + - @,
# and tab, CR and LF, which some of them skip before looking for those.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading ' where it could start a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@dataclass(frozen=True, slots=True)
class ImportResult:
    stored: int
    failed: list[tuple[int, str, str]]  # (line, number as written, reason)


def import_contacts(engine: Engine, account: Account, text: str) -> ImportResult:
    """Upsert contacts from CSV text with a header row; raises ValueError on a bad file."""
    if "\x00" in text:  # UTF-16 exports are full of them; PostgreSQL refuses them in text
        raise ValueError("the file holds NUL characters: save it as CSV (UTF-8) and try again")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return _import_rows(engine, account, csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise ValueError(f"not a CSV file this can read: {exc}") from None


def _import_rows(engine: Engine, account: Account, reader: Any) -> ImportResult:
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError("the file is empty") from None
    names = [
        CSV_ALIASES.get(h.strip().lower().replace(" ", "_"), h.strip().lower().replace(" ", "_"))
        for h in header
    ]
    if "phone_number" not in names:
        raise ValueError("the first line must name the columns, one of them phone_number")
    items: list[dict[str, Any]] = []
    lines: list[int] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(items) >= MAX_IMPORT_ROWS:
            raise ValueError(f"at most {MAX_IMPORT_ROWS} contacts per file")
        record = {n: v for n, v in zip(names, row, strict=False) if n in CSV_FIELDS}
        record["adress"] = record.pop("address", "")
        items.append(record)
        lines.append(reader.line_num)
    answers = upsert_contacts(engine, account, items) if items else []
    failed = [
        (line, str(item.get("phone_number", "")), ", ".join(answer.get("errors", [])))
        for line, item, answer in zip(lines, items, answers, strict=True)
        if answer["result"] != "success"
    ]
    return ImportResult(len(items) - len(failed), failed)


# --- calls and their qualification --------------------------------------------


def list_calls(engine: Engine, account_id: int, page: int = 1) -> tuple[Page, dict[int, list[Any]]]:
    """A page of calls, newest first, and each call's qualifications."""
    query = (
        select(calls, devices.c.name.label("device_name"))
        .outerjoin(devices, devices.c.id == calls.c.device_id)
        .where(calls.c.account_id == account_id)
        .order_by(calls.c.call_time.desc(), calls.c.id.desc())
    )
    with engine.connect() as conn:
        result = _page(conn, query, page)
        ids = [row.id for row in result.rows]
        quals: dict[int, list[Any]] = {i: [] for i in ids}
        if ids:
            for q in conn.execute(
                select(qualifications)
                .where(qualifications.c.call_id.in_(ids))
                .order_by(qualifications.c.created_at)
            ):
                quals[q.call_id].append(q)
    return result, quals


def qualify_call(engine: Engine, account: Account, call_id: int, text: str) -> int:
    """Record a qualification typed in the dashboard; its webhook commits with it."""
    text = text.strip()
    if not text:
        raise ValueError("write the qualification first")
    if len(text) > 2000:
        raise ValueError("at most 2000 characters")
    with engine.begin() as conn:
        call = conn.execute(
            select(calls.c.phone_number).where(
                calls.c.id == call_id, calls.c.account_id == account.id
            )
        ).first()
        if call is None:
            raise NotFound(f"no call {call_id}")
        return record_qualification(
            conn, account, call.phone_number, text, source="interface", call_id=call_id
        )


# --- webhooks --------------------------------------------------------------------
# Settings, secrets and replay themselves live in services/webhook_admin.py; the
# dashboard adds a paged, account-scoped view of the log.

KINDS = ("message", "calls", "clics", "qualification", "status")
DELIVERY_STATES = ("pending", "done", "dead")


def webhook_settings(engine: Engine, account_id: int) -> tuple[dict[str, str], str | None]:
    with engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == account_id)).one()
    return {kind: row._mapping[f"webhook_{kind}"] or "" for kind in KINDS}, row.webhook_secret


def clear_webhook_secret(engine: Engine, account_id: int) -> None:
    """Stop signing deliveries (webhook_admin only creates and rotates secrets)."""
    with engine.begin() as conn:
        conn.execute(
            update(accounts).where(accounts.c.id == account_id).values(webhook_secret=None)
        )


def list_deliveries(engine: Engine, account_id: int, state: str = "", page: int = 1) -> Page:
    query = select(
        webhooks.c.id,
        webhooks.c.event_id,
        webhooks.c.kind,
        webhooks.c.url,
        webhooks.c.state,
        webhooks.c.attempts,
        webhooks.c.next_attempt_at,
        webhooks.c.last_status,
        webhooks.c.last_error,
        webhooks.c.created_at,
        webhooks.c.done_at,
    ).where(webhooks.c.account_id == account_id)
    if state in DELIVERY_STATES:
        query = query.where(webhooks.c.state == state)
    query = query.order_by(webhooks.c.created_at.desc(), webhooks.c.id.desc())
    with engine.connect() as conn:
        return _page(conn, query, page)


def finished_delivery(engine: Engine, account_id: int, delivery_id: int) -> bool:
    """Whether the delivery is the account's and finished (done or dead), so replayable."""
    with engine.connect() as conn:
        row = conn.execute(
            select(webhooks.c.id).where(
                webhooks.c.id == delivery_id,
                webhooks.c.account_id == account_id,
                webhooks.c.state != "pending",
            )
        ).first()
    return row is not None
