"""What the v2 API answers, as typed objects (the shapes of docs/api-v2.md).

Read leniently, like the v1 results: a missing or mistyped field gets an empty
value instead of an exception, and keys a server adds are kept in `raw` (the
same classes read simgate and the hosted inSIM service, which may differ).
Ids are strings; dates are naive datetimes in the account's time zone (the
wire's `YYYY-MM-DD HH:mm:ss`), None when unset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Raw = Mapping[str, Any]


def text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else text(value)


def integer(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return 0


def flag(value: Any) -> bool:
    """A wire boolean: true/1/"1"/"true" (servers differ in how they spell it)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value) if isinstance(value, bool | int | float) else False


def moment(value: Any) -> datetime | None:
    """`YYYY-MM-DD HH:mm:ss` (or ISO 8601), kept as the server wrote it: local time."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def strings(value: Any) -> list[str]:
    return [text(v) for v in value] if isinstance(value, list) else []


def objects(value: Any) -> list[Raw]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def object_id(item: Raw, own_key: str) -> str:
    """An object's id: its own key (`id_contact`...), else `id`, else `_id`."""
    for key in (own_key, "id", "_id"):
        if item.get(key) not in (None, ""):
            return text(item[key])
    return ""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list. `next_cursor` goes back as `cursor=` for the next
    page; it is None on the last one."""

    items: list[T]
    next_cursor: str | None = None
    has_more: bool = False
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def from_wire(cls, body: Raw, key: str, read: Callable[[Raw], T]) -> Page[T]:
        cursor = text_or_none(body.get("next_cursor"))
        return cls(
            items=[read(item) for item in objects(body.get(key))],
            next_cursor=cursor,
            has_more=flag(body.get("has_more")) if "has_more" in body else cursor is not None,
            raw=dict(body),
        )


@dataclass(frozen=True, slots=True)
class Account:
    """Both field sets of `account`: the client's `whoami` reads the first
    line, its `account info` the second."""

    login: str
    product: str
    sms_credits: int
    country_code: str
    active: bool
    devices_connected: int
    plan: str
    credits: int
    options: dict[str, Any]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> Account:
        return cls(
            login=text(item.get("login")),
            product=text(item.get("product")),
            sms_credits=integer(item.get("sms_credits")),
            country_code=text(item.get("country_code")),
            active=flag(item.get("active")),
            devices_connected=integer(item.get("devices_connected")),
            plan=text(item.get("plan")),
            credits=integer(item.get("credits")),
            options=mapping(item.get("options")),
            raw=dict(item),
        )


WEBHOOK_NAMES = (
    "incoming_sms",
    "delivery_status",
    "link_clicks",
    "call_events",
    "call_qualifications",
)


@dataclass(frozen=True, slots=True)
class Webhooks:
    """The five callback URLs ("" for none)."""

    incoming_sms: str
    delivery_status: str
    link_clicks: str
    call_events: str
    call_qualifications: str

    @classmethod
    def from_wire(cls, item: Raw) -> Webhooks:
        return cls(**{name: text(item.get(name)) for name in WEBHOOK_NAMES})


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact of the CRM. `score` (0-100) and `match_type` are set by
    search and find-by-phone only."""

    id: str
    firstname: str
    lastname: str
    phone_number: str
    email: str
    address: str
    pro: bool
    tags: list[str]
    custom: dict[str, str]
    created: datetime | None
    updated: datetime | None
    score: int | None = None
    match_type: str | None = None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> Contact:
        score = item.get("score")
        return cls(
            id=object_id(item, "id_contact"),
            firstname=text(item.get("firstname")),
            lastname=text(item.get("lastname")),
            phone_number=text(item.get("phone_number")),
            email=text(item.get("email")),
            address=text(item.get("address")),
            pro=flag(item.get("pro")),
            tags=strings(item.get("tags")),
            custom={text(k): text(v) for k, v in mapping(item.get("custom")).items()},
            created=moment(item.get("created")),
            updated=moment(item.get("updated")),
            score=integer(score) if score is not None else None,
            match_type=text_or_none(item.get("match_type")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class Message:
    """An SMS, sent or received. Outbound: `sms_id` is the v1 `id_sms_api`
    and `delivery_status` one of delivered/sent/pending/failed/blocked/
    not_found. Inbound: `sms_id` is "in_<n>"."""

    id: str
    sms_id: str
    direction: str
    phone_number: str
    message: str
    date: datetime | None
    status: str
    delivery_status: str
    segments: int
    campaign_id: str | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"

    @classmethod
    def from_wire(cls, item: Raw) -> Message:
        return cls(
            id=object_id(item, "id"),
            sms_id=object_id(item, "sms_id"),
            direction=text(item.get("direction")),
            phone_number=text(item.get("phone_number")),
            message=text(item.get("message")),
            date=moment(item.get("date")),
            status=text(item.get("status")),
            delivery_status=text(item.get("delivery_status")),
            segments=integer(item.get("segments")),
            campaign_id=text_or_none(item.get("campaign_id")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class MessageDetail:
    """`sms/detail`: the message, its delivery events and its link clicks
    (as the server spells them; simgate's are in docs/api-v2.md)."""

    message: Message
    events: list[Raw]
    clicks: list[Raw]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> MessageDetail:
        sms = mapping(body.get("sms"))
        return cls(
            message=Message.from_wire(sms),
            events=objects(sms.get("events", body.get("events"))),
            clicks=objects(sms.get("clicks", body.get("clicks"))),
            raw=dict(body),
        )


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    sms_id: str
    phone_number: str
    delivery_status: str
    description: str
    message_preview: str
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> DeliveryStatus:
        return cls(
            sms_id=text(item.get("sms_id")),
            phone_number=text(item.get("phone_number")),
            delivery_status=text(item.get("delivery_status")),
            description=text(item.get("description")),
            message_preview=text(item.get("message_preview")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class SendResult:
    """One recipient of `sendsms` or `templates/send`. `sent` False means
    refused: `error_code`, `error` and `field` say why."""

    sent: bool
    sms_id: str
    phone_number: str
    segments: int
    error: str | None = None
    error_code: str | None = None
    field: str | None = None
    # (`field` is a field name here, hence dataclasses.field)
    raw: Raw = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> SendResult:
        return cls(
            sent=item.get("sent") in (1, True),
            sms_id=text(item.get("sms_id")),
            phone_number=text(item.get("phone_number")),
            segments=integer(item.get("segments")),
            error=text_or_none(item.get("error")),
            error_code=text_or_none(item.get("error_code")),
            field=text_or_none(item.get("field")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class SendReport:
    """A send's answer: one result per recipient, in order, and how many
    were accepted."""

    results: list[SendResult]
    sent_count: int
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[SendResult]:
        return iter(self.results)

    @classmethod
    def from_wire(cls, body: Raw) -> SendReport:
        results = [SendResult.from_wire(item) for item in objects(body.get("result"))]
        count = body.get("sent_count")
        return cls(
            results=results,
            sent_count=integer(count) if count is not None else sum(r.sent for r in results),
            raw=dict(body),
        )


@dataclass(frozen=True, slots=True)
class Call:
    """A phone call. `duration` in seconds."""

    id: str
    type: str
    phone_number: str
    duration: int
    call_time: datetime | None
    qualified: bool
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> Call:
        return cls(
            id=object_id(item, "call_id"),
            type=text(item.get("type")),
            phone_number=text(item.get("phone_number")),
            duration=integer(item.get("duration")),
            call_time=moment(item.get("call_time")),
            qualified=flag(item.get("qualified")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class QualificationOption:
    id: str
    label: str
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> QualificationOption:
        # The client reads `_id`; simgate also sends `id` and `option_id`.
        return cls(id=object_id(item, "_id"), label=text(item.get("label")), raw=dict(item))


@dataclass(frozen=True, slots=True)
class ContactList:
    """A contact list. `contacts` is its member count."""

    id: str
    name: str
    description: str
    contacts: int
    created: datetime | None
    updated: datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> ContactList:
        members = item.get("contacts")
        return cls(
            id=object_id(item, "list_id"),
            name=text(item.get("name")),
            description=text(item.get("description")),
            contacts=len(members) if isinstance(members, list) else integer(members),
            created=moment(item.get("created")),
            updated=moment(item.get("updated")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class ListDetail:
    """`lists/detail`: the list and (up to `limit` of) its members."""

    list: ContactList
    contacts: Page[Contact]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> ListDetail:
        return cls(
            list=ContactList.from_wire(mapping(body.get("list"))),
            contacts=Page.from_wire(body, "contacts", Contact.from_wire),
            raw=dict(body),
        )


@dataclass(frozen=True, slots=True)
class AddAllResult:
    """`lists/contacts/addall`: contacts added, already members, and both."""

    added: int
    skipped: int
    total: int
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> AddAllResult:
        return cls(
            added=integer(body.get("added")),
            skipped=integer(body.get("skipped")),
            total=integer(body.get("total")),
            raw=dict(body),
        )


CAMPAIGN_READY, CAMPAIGN_SENDING, CAMPAIGN_NO_RECIPIENTS = 0, 1, 2
CAMPAIGN_COMPLETED, CAMPAIGN_CANCELLED = 3, 4


@dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign; `status` 0 ready, 1 sending, 2 no recipients, 3 completed,
    4 cancelled (`status_label` spells it)."""

    id: str
    name: str
    message: str
    url: str | None
    priority: int
    status: int
    status_label: str
    list_id: str | None
    recipients: int
    sent: int
    delivered: int
    failed: int
    pending: int
    clicks: int
    created: datetime | None
    started: datetime | None
    completed: datetime | None
    cancelled: datetime | None
    opted_out: int = 0  # simgate: recipients skipped, on the opt-out list
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> Campaign:
        return cls(
            id=object_id(item, "campaign_id"),
            name=text(item.get("name")),
            message=text(item.get("message")),
            url=text_or_none(item.get("url")),
            priority=integer(item.get("priority")),
            status=integer(item.get("status")),
            status_label=text(item.get("status_label")),
            list_id=text_or_none(item.get("list_id")),
            recipients=integer(item.get("recipients")),
            sent=integer(item.get("sent")),
            delivered=integer(item.get("delivered")),
            failed=integer(item.get("failed")),
            pending=integer(item.get("pending")),
            clicks=integer(item.get("clicks")),
            created=moment(item.get("created")),
            started=moment(item.get("started")),
            completed=moment(item.get("completed")),
            cancelled=moment(item.get("cancelled")),
            opted_out=integer(item.get("opted_out")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class Template:
    """A message template; `variables` are the names between braces in it."""

    id: str
    name: str
    message: str
    variables: list[str]
    created: datetime | None
    updated: datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> Template:
        return cls(
            id=object_id(item, "template_id"),
            name=text(item.get("name")),
            message=text(item.get("message")),
            variables=strings(item.get("variables")),
            created=moment(item.get("created")),
            updated=moment(item.get("updated")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of `templates/send`: a number and the values of the
    template's variables (`{"firstname": "Marie", "custom.date": "15 April"}`);
    the server fills the rest from the contact with that number."""

    phone_number: str
    variables: Mapping[str, str] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"phone_number": self.phone_number, "variables": dict(self.variables)}


# --- opt-outs (simgate's extension) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptOut:
    """A number on the account's opt-out list: since when and why (`reason`
    keyword, imported, manual or api; `detail` the text received or the note)."""

    phone_number: str
    reason: str
    detail: str
    since: datetime | None
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, item: Raw) -> OptOut:
        return cls(
            phone_number=text(item.get("phone_number")),
            reason=text(item.get("reason")),
            detail=text(item.get("detail")),
            since=moment(item.get("since")),
            raw=dict(item),
        )


@dataclass(frozen=True, slots=True)
class OptOutEvent:
    """One change to a number's place on the list (`action` add or remove)."""

    action: str
    reason: str
    detail: str
    date: datetime | None

    @classmethod
    def from_wire(cls, item: Raw) -> OptOutEvent:
        return cls(
            action=text(item.get("action")),
            reason=text(item.get("reason")),
            detail=text(item.get("detail")),
            date=moment(item.get("date")),
        )


@dataclass(frozen=True, slots=True)
class OptOutCheck:
    """`optouts/check`: whether a number is on the list, and its history."""

    phone_number: str
    opted_out: bool
    since: datetime | None
    reason: str | None
    detail: str | None
    history: list[OptOutEvent]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, body: Raw) -> OptOutCheck:
        return cls(
            phone_number=text(body.get("phone_number")),
            opted_out=flag(body.get("opted_out")),
            since=moment(body.get("since")),
            reason=text_or_none(body.get("reason")),
            detail=text_or_none(body.get("detail")) if body.get("detail") is not None else None,
            history=[OptOutEvent.from_wire(e) for e in objects(body.get("history"))],
            raw=dict(body),
        )


@dataclass(frozen=True, slots=True)
class OptOutChange:
    """`optouts/add` / `optouts/remove`: the numbers (E.164) changed, and
    those left as they were (already on the list / not on it)."""

    changed: list[str]
    unchanged: list[str]
    raw: Raw = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_add(cls, body: Raw) -> OptOutChange:
        return cls(strings(body.get("added")), strings(body.get("already_opted_out")), dict(body))

    @classmethod
    def from_remove(cls, body: Raw) -> OptOutChange:
        return cls(strings(body.get("removed")), strings(body.get("not_opted_out")), dict(body))
