"""The v2 endpoints as requests: each function builds one endpoint's body
(the fields of reference/insim-v2-api.md section 5, spelled once) and says how
to read its answer. No I/O: Client and AsyncClient send them (see _v2.py).

`idempotent` says whether sending the same request twice is harmless, which
is what allows a retry after an answer got lost: reads, and writes that set a
state (switch_pro, tags, updates, list membership). Creates, deletes, starts,
cancels and sends are not retried once they may have reached the server, save
`sms_send` when every message carries its own `id_sms_api`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from simgate.client._models import Sms, format_send_date
from simgate.client._v2_models import (
    WEBHOOK_NAMES,
    Account,
    AddAllResult,
    Call,
    Campaign,
    Contact,
    ContactList,
    DeliveryStatus,
    ListDetail,
    Message,
    MessageDetail,
    OptOut,
    OptOutChange,
    OptOutCheck,
    Page,
    QualificationOption,
    Raw,
    Recipient,
    SendReport,
    Template,
    Webhooks,
    mapping,
    objects,
    strings,
)

T = TypeVar("T")
Id = str | int
DateLike = date | datetime | str
SearchMode = Literal["smart", "exact", "starts_with"]
Direction = Literal["all", "inbound", "outbound"]
CallType = Literal["all", "incoming", "outgoing", "missed"]
SmsLike = Sms | Mapping[str, Any]
RecipientLike = Recipient | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Request(Generic[T]):
    """One v2 call before the credentials are added."""

    endpoint: str
    fields: dict[str, Any]
    idempotent: bool
    read: Callable[[Raw], T]


def _fields(**values: Any) -> dict[str, Any]:
    """The fields that were given (None is "not given" and left out)."""
    return {name: value for name, value in values.items() if value is not None}


def _id(value: Id) -> str:
    return str(value)


def _ids(values: Id | Iterable[Id]) -> list[str]:
    if isinstance(values, str | int):
        return [str(values)]
    return [str(v) for v in values]


def _day(value: DateLike | None) -> str | None:
    """A date filter: a date as YYYY-MM-DD, a datetime as the API's dates."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return format_send_date(value)
    return value.isoformat()


def _body(body: Raw) -> Raw:
    return body


def _object(key: str, read: Callable[[Raw], T]) -> Callable[[Raw], T]:
    return lambda body: read(mapping(body.get(key)))


def _items(key: str, read: Callable[[Raw], T]) -> Callable[[Raw], list[T]]:
    return lambda body: [read(item) for item in objects(body.get(key))]


def _page(key: str, read: Callable[[Raw], T]) -> Callable[[Raw], Page[T]]:
    return lambda body: Page.from_wire(body, key, read)


def _with_id(key: str, read: Callable[[Raw], T]) -> Callable[[Raw], T]:
    """The object under `key`, its id (`<key>_id`) beside it: the answer of a
    create, an update, a start or a cancel."""

    def parse(body: Raw) -> T:
        item = mapping(body.get(key))
        own = f"{key}_id"
        if own in body and own not in item:
            item[own] = body[own]
        return read(item)

    return parse


# --- account ------------------------------------------------------------------


def account_info() -> Request[Account]:
    """The account: both field sets of `account` (login, plan, credits, options...)."""
    return Request("account", {}, True, _object("account", Account.from_wire))


def account_webhooks() -> Request[Webhooks]:
    """The five callback URLs, unchanged."""
    return Request("account/webhooks", {"action": "get"}, True, _webhooks)


def account_set_webhooks(
    *,
    incoming_sms: str | None = None,
    delivery_status: str | None = None,
    link_clicks: str | None = None,
    call_events: str | None = None,
    call_qualifications: str | None = None,
    clear: Iterable[str] = (),
) -> Request[Webhooks]:
    """URLs not given stay as they are; the names in `clear` are removed."""
    given = {
        "incoming_sms": incoming_sms,
        "delivery_status": delivery_status,
        "link_clicks": link_clicks,
        "call_events": call_events,
        "call_qualifications": call_qualifications,
    }
    hooks: dict[str, str | None] = {name: url for name, url in given.items() if url is not None}
    for name in [clear] if isinstance(clear, str) else clear:
        if name not in WEBHOOK_NAMES:
            raise ValueError(f"no webhook {name!r}; one of {', '.join(WEBHOOK_NAMES)}")
        hooks[name] = None  # null clears; absent (or "") keeps
    return Request("account/webhooks", {"webhooks": hooks}, True, _webhooks)


def _webhooks(body: Raw) -> Webhooks:
    return Webhooks.from_wire(mapping(body.get("webhooks")))


# --- contacts -----------------------------------------------------------------


def contacts_list(
    *,
    search: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
    sort: str | None = None,
    order: Literal["asc", "desc"] | None = None,
) -> Request[Page[Contact]]:
    """A page of contacts; `search` filters, `sort`/`order` order, `cursor` pages."""
    fields = {"limit": limit, **_fields(search=search, cursor=cursor, sort=sort, order=order)}
    return Request("contacts", fields, True, _page("contacts", Contact.from_wire))


def contacts_search(
    name: str, *, mode: SearchMode = "smart", fuzzy: bool = True, limit: int = 5
) -> Request[list[Contact]]:
    """Contacts matching a name, best first, each with `score` and `match_type`."""
    fields = {"name": name, "mode": mode, "fuzzy": fuzzy, "limit": limit}
    return Request("contacts/search", fields, True, _items("contacts", Contact.from_wire))


def contacts_find_phone(phone_number: str) -> Request[list[Contact]]:
    """The contacts with this number, written in any format."""
    fields = {"phone_number": phone_number}
    return Request("find_contact", fields, True, _items("contacts", Contact.from_wire))


def contacts_detail(id_contact: Id) -> Request[Contact]:
    """One contact."""
    fields = {"id_contact": _id(id_contact)}
    return Request("contacts/detail", fields, True, _object("contact", Contact.from_wire))


def contacts_switch_pro(id_contact: Id, pro: bool) -> Request[Raw]:
    """Mark a contact pro (shared with the team) or personal; the answer's dict."""
    fields = {"id_contact": _id(id_contact), "pro": pro}
    return Request("contacts/switch_pro", fields, True, _body)


def contacts_delete(id_contact: Id) -> Request[Raw]:
    """Delete a contact (soft: it comes back when its number is upserted)."""
    return Request("contacts/delete", {"id_contact": _id(id_contact)}, False, _body)


def contacts_tags(
    id_contact: Id, *, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> Request[list[str]]:
    """The contact's tags after the change."""
    fields = {"id_contact": _id(id_contact), "add": list(add), "remove": list(remove)}
    return Request("contacts/tags", fields, True, lambda body: strings(body.get("tags")))


def contacts_custom_fields() -> Request[list[Raw]]:
    """The account's custom fields, as the server describes them."""
    return Request("contacts/custom_fields", {}, True, lambda b: objects(b.get("custom_fields")))


# --- sms ----------------------------------------------------------------------


def sms_list(
    *,
    direction: Direction = "all",
    phone_number: str | None = None,
    date_from: DateLike | None = None,
    date_to: DateLike | None = None,
    limit: int = 5,
    cursor: str | None = None,
) -> Request[Page[Message]]:
    """A page of SMS, sent and received, newest first; filters as the client's."""
    fields = {
        "direction": direction,
        "limit": limit,
        **_fields(
            phone_number=phone_number,
            date_from=_day(date_from),
            date_to=_day(date_to),
            cursor=cursor,
        ),
    }
    return Request("sms", fields, True, _page("messages", Message.from_wire))


def sms_detail(sms_id: Id) -> Request[MessageDetail]:
    """One SMS with its delivery events and link clicks."""
    return Request("sms/detail", {"sms_id": _id(sms_id)}, True, MessageDetail.from_wire)


def sms_conversation(phone_number: str, *, limit: int = 20) -> Request[Page[Message]]:
    """The last `limit` SMS with a number, in time order."""
    fields = {"phone_number": phone_number, "limit": limit}
    return Request("sms/conversation", fields, True, _page("messages", Message.from_wire))


def sms_send(messages: SmsLike | Iterable[SmsLike]) -> Request[SendReport]:
    """simgate.Sms objects (or dicts in the v2 spelling), one result each."""
    items = [_v2_sms(m) for m in ([messages] if isinstance(messages, Sms | Mapping) else messages)]
    # Retried only when a repeat cannot send twice: each message names itself.
    keyed = bool(items) and all(item.get("id_sms_api") for item in items)
    return Request("sendsms", {"messages": items}, keyed, SendReport.from_wire)


def _v2_sms(message: SmsLike) -> dict[str, Any]:
    if isinstance(message, Mapping):
        item = dict(message)
    elif isinstance(message, Sms):
        item = _fields(
            phone_number=message.phone_number,
            message=message.message,
            url=message.url,
            priority=message.priority,
            date_to_send=message.date_to_send,
            id_sms_api=message.id_sms_api,
        )
    else:
        raise TypeError(f"expected Sms or Mapping, got {message!r}")
    if isinstance(item.get("date_to_send"), datetime):
        item["date_to_send"] = format_send_date(item["date_to_send"])
    return item


def sms_delivery_status(sms_ids: Id | Iterable[Id]) -> Request[list[DeliveryStatus]]:
    """One id is sent as `sms_id`, several as `sms_ids` (as the client does)."""
    ids = _ids(sms_ids)
    if not ids:
        raise ValueError("at least one sms id")
    fields: dict[str, Any] = {"sms_id": ids[0]} if len(ids) == 1 else {"sms_ids": ids}
    read = _items("statuses", DeliveryStatus.from_wire)
    return Request("sms/delivery_status", fields, True, read)


# --- calls and qualifications -------------------------------------------------


def calls_list(
    *,
    type: CallType = "all",
    phone_number: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
) -> Request[Page[Call]]:
    """A page of calls, newest first."""
    fields = {"type": type, "limit": limit, **_fields(phone_number=phone_number, cursor=cursor)}
    return Request("calls", fields, True, _page("calls", Call.from_wire))


def calls_qualify(call_id: Id, option_id: Id, *, notes: str = "") -> Request[Raw]:
    """Qualify a call with an option (and notes); the answer's dict."""
    fields = {"call_id": _id(call_id), "option_id": _id(option_id), "notes": notes}
    return Request("calls/qualify", fields, True, _body)


def calls_click_to_call(phone_number: str) -> Request[Raw]:
    # A second request may ring the phone twice.
    """Ask one of the account's phones to call a number; the answer's dict."""
    return Request("clictocall", {"phone_number": phone_number}, False, _body)


def qualifications_list(
    *, phone_number: str | None = None, limit: int = 10, cursor: str | None = None
) -> Request[Raw]:
    """Qualified calls, as the answer's dict (`qualifications` in simgate's)."""
    fields = {"limit": limit, **_fields(phone_number=phone_number, cursor=cursor)}
    return Request("qualifications", fields, True, _body)


def qualifications_options() -> Request[list[QualificationOption]]:
    """The account's qualification options."""
    read = _items("options", QualificationOption.from_wire)
    return Request("qualifications/options", {}, True, read)


def qualifications_create_option(label: str) -> Request[QualificationOption]:
    """A new qualification option."""
    read = _object("option", QualificationOption.from_wire)
    return Request("qualifications/options/create", {"label": label}, False, read)


def qualifications_update_option(option_id: Id, label: str) -> Request[QualificationOption]:
    """Rename a qualification option; the option after."""
    fields = {"option_id": _id(option_id), "label": label}
    read = _object("option", QualificationOption.from_wire)
    return Request("qualifications/options/update", fields, True, read)


def qualifications_delete_option(option_id: Id) -> Request[Raw]:
    """Delete a qualification option; the answer's dict."""
    fields = {"option_id": _id(option_id)}
    return Request("qualifications/options/delete", fields, False, _body)


def qualifications_stats(
    *, date_from: DateLike | None = None, date_to: DateLike | None = None
) -> Request[Raw]:
    """Call qualification figures over a date range, as the answer's dict."""
    fields = _fields(date_from=_day(date_from), date_to=_day(date_to))
    return Request("qualifications/stats", fields, True, _body)


# --- lists --------------------------------------------------------------------


def lists_list(*, cursor: str | None = None) -> Request[Page[ContactList]]:
    """The contact lists, each with its member count."""
    return Request("lists", _fields(cursor=cursor), True, _page("lists", ContactList.from_wire))


def lists_create(name: str, *, description: str = "") -> Request[ContactList]:
    """A new, empty contact list."""
    fields = {"name": name, "description": description}
    return Request("lists/create", fields, False, _with_id("list", ContactList.from_wire))


def lists_detail(list_id: Id, *, limit: int = 10) -> Request[ListDetail]:
    """A list and its first `limit` members."""
    fields = {"list_id": _id(list_id), "limit": limit}
    return Request("lists/detail", fields, True, ListDetail.from_wire)


def lists_update(
    list_id: Id, *, name: str | None = None, description: str | None = None
) -> Request[ContactList]:
    """Changes only what is given; the list after the change."""
    fields = {"list_id": _id(list_id), **_fields(name=name, description=description)}
    return Request("lists/update", fields, True, _with_id("list", ContactList.from_wire))


def lists_delete(list_id: Id) -> Request[Raw]:
    """Delete a list (its contacts stay)."""
    return Request("lists/delete", {"list_id": _id(list_id)}, False, _body)


def lists_add_contacts(list_id: Id, contact_ids: Iterable[Id]) -> Request[Raw]:
    """Add contacts to a list (those already in it are skipped)."""
    fields = {"list_id": _id(list_id), "contact_ids": _ids(contact_ids)}
    return Request("lists/contacts/add", fields, True, _body)


def lists_remove_contacts(list_id: Id, contact_ids: Iterable[Id]) -> Request[Raw]:
    """Remove contacts from a list."""
    fields = {"list_id": _id(list_id), "contact_ids": _ids(contact_ids)}
    return Request("lists/contacts/remove", fields, True, _body)


def lists_add_all(list_id: Id) -> Request[AddAllResult]:
    """Add every contact of the account to a list."""
    fields = {"list_id": _id(list_id)}
    return Request("lists/contacts/addall", fields, True, AddAllResult.from_wire)


# --- campaigns ----------------------------------------------------------------


def campaigns_list(*, limit: int = 10, cursor: str | None = None) -> Request[Page[Campaign]]:
    """A page of campaigns, newest first, with their counts."""
    fields = {"limit": limit, **_fields(cursor=cursor)}
    return Request("campaigns", fields, True, _page("campaigns", Campaign.from_wire))


def campaigns_create(
    name: str,
    message: str,
    *,
    list_id: Id | None = None,
    contact_ids: Iterable[Id] | None = None,
    phone_numbers: Iterable[str] | None = None,
    priority: int = 0,
    url: str | None = None,
    template_id: Id | None = None,
    date_to_send: datetime | str | None = None,
) -> Request[Campaign]:
    """Recipients from a list, contact ids and/or numbers (each counted once).
    simgate also takes `url` (the tracked link for `[link]`), `template_id`
    (its text instead of `message`) and `date_to_send` (when started)."""
    fields = {
        "name": name,
        "message": message,
        "priority": priority,
        **_fields(
            list_id=None if list_id is None else _id(list_id),
            contact_ids=None if contact_ids is None else _ids(contact_ids),
            phone_numbers=None if phone_numbers is None else list(phone_numbers),
            url=url,
            template_id=None if template_id is None else _id(template_id),
            date_to_send=format_send_date(date_to_send),
        ),
    }
    return Request("campaigns/create", fields, False, _with_id("campaign", Campaign.from_wire))


def campaigns_detail(campaign_id: Id) -> Request[Campaign]:
    """One campaign with its recipients, sent, delivered, failed and clicks."""
    fields = {"campaign_id": _id(campaign_id)}
    return Request("campaigns/detail", fields, True, _object("campaign", Campaign.from_wire))


def campaigns_start(campaign_id: Id) -> Request[Campaign]:
    """Queue its messages (only a ready campaign starts); the campaign after."""
    fields = {"campaign_id": _id(campaign_id)}
    return Request("campaigns/start", fields, False, _with_id("campaign", Campaign.from_wire))


def campaigns_cancel(campaign_id: Id) -> Request[Campaign]:
    """Stop every message of it no phone has taken yet; the campaign after."""
    fields = {"campaign_id": _id(campaign_id)}
    return Request("campaigns/cancel", fields, False, _with_id("campaign", Campaign.from_wire))


# --- templates ----------------------------------------------------------------


def templates_list(*, cursor: str | None = None) -> Request[Page[Template]]:
    """The message templates."""
    read = _page("templates", Template.from_wire)
    return Request("templates", _fields(cursor=cursor), True, read)


def templates_create(name: str, message: str) -> Request[Template]:
    """A new template; its `variables` are read from the message."""
    fields = {"name": name, "message": message}
    return Request("templates/create", fields, False, _with_id("template", Template.from_wire))


def templates_update(
    template_id: Id, *, name: str | None = None, message: str | None = None
) -> Request[Template]:
    """Changes only what is given; the template after the change."""
    fields = {"template_id": _id(template_id), **_fields(name=name, message=message)}
    return Request("templates/update", fields, True, _with_id("template", Template.from_wire))


def templates_delete(template_id: Id) -> Request[Raw]:
    """Delete a template."""
    return Request("templates/delete", {"template_id": _id(template_id)}, False, _body)


def templates_send(
    template_id: Id,
    recipients: RecipientLike | Iterable[RecipientLike],
    *,
    url: str | None = None,
    priority: int | None = None,
    date_to_send: datetime | str | None = None,
) -> Request[SendReport]:
    """One result per recipient; a variable left without a value refuses
    that recipient (its `field` names the variable). `url`, `priority` and
    `date_to_send` are simgate's, as in sendsms."""
    many = [recipients] if isinstance(recipients, Recipient | Mapping) else list(recipients)
    items = [r.to_wire() if isinstance(r, Recipient) else dict(r) for r in many]
    fields = {
        "template_id": _id(template_id),
        "recipients": items,
        **_fields(url=url, priority=priority, date_to_send=format_send_date(date_to_send)),
    }
    return Request("templates/send", fields, False, SendReport.from_wire)


# --- stats --------------------------------------------------------------------


def stats_overview(
    *, date_from: DateLike | None = None, date_to: DateLike | None = None
) -> Request[Raw]:
    # The client always sends both, "" meaning no bound.
    """SMS, calls, clicks and contacts over a date range, as the answer's dict."""
    fields = {"date_from": _day(date_from) or "", "date_to": _day(date_to) or ""}
    return Request("stats/overview", fields, True, _body)


def stats_clicks(*, limit: int = 10) -> Request[Raw]:
    """The latest link clicks, as the answer's dict."""
    return Request("stats/clicks", {"limit": limit}, True, _body)


# --- opt-outs (simgate's extension: docs/api-v2.md, "Opt-outs") -----------------


def optouts_list(
    *, search: str | None = None, limit: int = 100, cursor: str | None = None
) -> Request[Page[OptOut]]:
    """The opt-out list, newest first; `search`: numbers that start with it."""
    fields = {"limit": limit, **_fields(search=search, cursor=cursor)}
    return Request("optouts/list", fields, True, _page("optouts", OptOut.from_wire))


def optouts_add(phone_numbers: str | Iterable[str], *, note: str = "") -> Request[OptOutChange]:
    """Put numbers on the opt-out list (recorded with reason `api` and `note`)."""
    numbers = [phone_numbers] if isinstance(phone_numbers, str) else list(phone_numbers)
    fields = {"phone_numbers": numbers, **_fields(note=note or None)}
    return Request("optouts/add", fields, True, OptOutChange.from_add)


def optouts_remove(phone_numbers: str | Iterable[str], *, note: str = "") -> Request[OptOutChange]:
    """Take numbers off the opt-out list: messages reach them again."""
    numbers = [phone_numbers] if isinstance(phone_numbers, str) else list(phone_numbers)
    fields = {"phone_numbers": numbers, **_fields(note=note or None)}
    return Request("optouts/remove", fields, True, OptOutChange.from_remove)


def optouts_check(phone_number: str) -> Request[OptOutCheck]:
    """Whether a number is on the list, since when, why, and its history."""
    return Request("optouts/check", {"phone_number": phone_number}, True, OptOutCheck.from_wire)
