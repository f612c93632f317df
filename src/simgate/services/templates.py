"""Message templates: keep them, and send one to recipients through the same
path as sendsms (services/messages.accept_messages: ids, priority, tracked
links, segments, schedule, webhooks), all in one transaction.

Rendering is domain/templates; the queries are store/templates and
store/recipients.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import refusals
from simgate.domain import templates as render
from simgate.domain.templates import BadRecipient, ContactValues, MissingVariable
from simgate.errors import NotFound
from simgate.services.accounts import Account
from simgate.services.messages import accept_messages
from simgate.store import recipients as people
from simgate.store import templates as store
from simgate.store.db import reading, run_write
from simgate.store.recipients import ContactRow
from simgate.store.templates import TemplateRow

__all__ = [
    "SendResult",
    "TemplateRow",
    "create_template",
    "delete_template",
    "get_template",
    "list_templates",
    "send_template",
    "update_template",
]


def _missing(template_id: int) -> NotFound:
    return NotFound(f"no template {template_id}", field="template_id")


def list_templates(
    engine: Engine, account: Account, limit: int, after: tuple[datetime, int] | None = None
) -> tuple[list[TemplateRow], bool]:
    """A page of templates, newest first, and whether more follow."""
    with reading(engine) as conn:
        rows = store.page_of_templates(conn, account.id, limit + 1, after)
    return rows[:limit], len(rows) > limit


def get_template(engine: Engine, account: Account, template_id: int) -> TemplateRow:
    with reading(engine) as conn:
        row = store.get_template(conn, account.id, template_id)
    if row is None:
        raise _missing(template_id)
    return row


def create_template(
    engine: Engine, account: Account, name: str, message: str, clock: Clock = SYSTEM_CLOCK
) -> TemplateRow:
    now = clock.now()
    return run_write(
        engine, lambda conn: store.insert_template(conn, account.id, name, message, now)
    )


def update_template(
    engine: Engine,
    account: Account,
    template_id: int,
    name: str | None = None,
    message: str | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> TemplateRow:
    """Change the name and/or the message (None leaves one as it is)."""
    values = {k: v for k, v in (("name", name), ("message", message)) if v is not None}
    now = clock.now()

    def work(conn: Any) -> TemplateRow:
        if values and not store.update_template(conn, account.id, template_id, values, now):
            raise _missing(template_id)
        row = store.get_template(conn, account.id, template_id)
        if row is None:
            raise _missing(template_id)
        return row

    return run_write(engine, work)


def delete_template(engine: Engine, account: Account, template_id: int) -> None:
    """Campaigns made from it keep their own copy of its text."""
    if not run_write(engine, lambda conn: store.delete_template(conn, account.id, template_id)):
        raise _missing(template_id)


@dataclass(frozen=True, slots=True)
class SendResult:
    """What became of one recipient of a template send."""

    phone_number: str  # E.164 when it was valid, else as given
    sms_id: str = ""
    message: str = ""
    segments: int = 0
    refusal: refusals.Refusal | None = None

    @property
    def sent(self) -> bool:
        return self.refusal is None


def contact_values(row: ContactRow | None) -> ContactValues | None:
    if row is None:
        return None
    custom = render.parse_custom(row.custom)
    return ContactValues(row.firstname, row.lastname, row.email, custom)


def send_template(
    engine: Engine,
    account: Account,
    template_id: int,
    items: list[Any],
    public_url: str,
    options: dict[str, Any] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> list[SendResult]:
    """Render the template for each recipient ({phone_number, variables}) and
    send what rendered; one result per item, in order. `options` go into
    every message as sendsms takes them (url, priority, date_to_send)."""
    template = get_template(engine, account, template_id)
    read = [render.read_recipient(item, account.region) for item in items]
    wanted = [r.phone_number for r in read if isinstance(r, render.Recipient)]
    with reading(engine) as conn:
        known = people.by_numbers(conn, account.id, wanted) if wanted else {}

    results: list[SendResult | None] = []
    outgoing: list[dict[str, Any]] = []
    for recipient in read:
        if isinstance(recipient, BadRecipient):
            code = "MISSING_FIELD" if recipient.missing else "VALIDATION_ERROR"
            refusal = refusals.Refusal(code, recipient.field, recipient.error)
            results.append(SendResult(recipient.raw_number, refusal=refusal))
            continue
        contact = contact_values(known.get(recipient.phone_number))
        try:
            text = render.render(
                template.message, recipient.phone_number, recipient.variables, contact
            )
        except MissingVariable as missing:
            refusal = refusals.Refusal("VALIDATION_ERROR", missing.variable, str(missing))
            results.append(SendResult(recipient.phone_number, refusal=refusal))
            continue
        results.append(None)  # filled from the send path's answer below
        outgoing.append(
            {**(options or {}), "phone_number": recipient.phone_number, "message": text}
        )

    answers: list[dict[str, Any]] = []
    if outgoing:
        answers, _ = accept_messages(engine, account, outgoing, public_url, clock)
    sent = iter(answers)
    done: list[SendResult] = []
    for result in results:
        if result is not None:
            done.append(result)
            continue
        answer = next(sent)
        if answer["sent"]:
            done.append(
                SendResult(
                    answer["phone_number"],
                    answer["id_sms_api"],
                    answer["message"],
                    answer["sms_per_message"],
                )
            )
        else:
            refusal = refusals.from_codes(answer.get("errors", []))
            done.append(SendResult(str(answer["phone_number"]), refusal=refusal))
    return done
