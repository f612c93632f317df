"""The contact book: reading, searching and editing an account's contacts,
shared by the v2 API and the dashboard.

Search speed. `search` scores names in memory (domain/contact_search): each
node keeps, per account, a `NameIndex` of (id, folded name, number) built from
the store. Before every search it reads the account's `contacts_stamp` (one
primary-key lookup); every write that changes a name, a number or whether a
contact is live bumps that stamp in its own transaction (store/contacts), so
an index whose stamp still matches is current, whichever node wrote. Built
from the stamp read first, then the rows: rows newer than the stamp only make
the next search rebuild. Several nodes on one PostgreSQL store therefore never
answer from a stale index. Indexes are per account, so one account's 10^5
contacts cost another account nothing; a lock per account lets one request
build while the others of that account wait for it, and the least recently
used indexes go when the cached contacts pass MAX_CACHED_CONTACTS.
The found ids are then read from the store (live ones only), in one query.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain import contact_rules
from simgate.domain.contact_search import NameIndex, looks_like_phone
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.errors import Invalid, NotFound
from simgate.services.accounts import Account
from simgate.store import contacts as store
from simgate.store.contacts import Activity, Contact, CustomField
from simgate.store.db import run_write

MAX_CACHED_CONTACTS = 2_000_000  # names held in memory across accounts, per node


@dataclass(frozen=True, slots=True)
class Found:
    contact: Contact
    score: int
    match_type: str


class _IndexCache:
    """The NameIndex of each account of one engine, with its stamp."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._indexes: OrderedDict[int, tuple[int, NameIndex]] = OrderedDict()
        self._size = 0

    def index(self, engine: Engine, account_id: int) -> NameIndex:
        with engine.connect() as conn:
            current = store.stamp(conn, account_id)
        cached = self._cached(account_id, current)
        if cached is not None:
            return cached
        with self._lock_of(account_id):
            cached = self._cached(account_id, current)  # built while we waited
            if cached is not None:
                return cached
            with engine.connect() as conn:
                stamp = store.stamp(conn, account_id)  # first the stamp, then the rows
                index = NameIndex(store.index_rows(conn, account_id))
            self._put(account_id, stamp, index)
            return index

    def _cached(self, account_id: int, current: int) -> NameIndex | None:
        with self._guard:
            entry = self._indexes.get(account_id)
            if entry is None or entry[0] != current:
                return None
            self._indexes.move_to_end(account_id)
            return entry[1]

    def _lock_of(self, account_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(account_id, threading.Lock())

    def _put(self, account_id: int, stamp: int, index: NameIndex) -> None:
        with self._guard:
            old = self._indexes.pop(account_id, None)
            if old is not None:
                self._size -= len(old[1])
            self._indexes[account_id] = (stamp, index)
            self._size += len(index)
            while self._size > MAX_CACHED_CONTACTS and len(self._indexes) > 1:
                _, (_, gone) = self._indexes.popitem(last=False)
                self._size -= len(gone)


_caches: weakref.WeakKeyDictionary[Engine, _IndexCache] = weakref.WeakKeyDictionary()
_caches_guard = threading.Lock()


def _cache(engine: Engine) -> _IndexCache:
    with _caches_guard:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = _IndexCache()
        return cache


# -- reading ---------------------------------------------------------------


def search(
    engine: Engine, account: Account, text: str, mode: str, fuzzy: bool, limit: int
) -> list[Found]:
    """The best `limit` live contacts for `text` (domain/contact_search)."""
    e164 = None
    if looks_like_phone(text):
        try:
            e164 = to_e164(text, account.region)
        except InvalidNumber:
            pass  # a part of a number: its digits are still looked for
    hits = _cache(engine).index(engine, account.id).search(text, mode, fuzzy, limit, e164)
    with engine.connect() as conn:
        found = store.by_ids(conn, account.id, [hit.contact_id for hit in hits])
    return [
        Found(found[hit.contact_id], hit.score, hit.match_type)
        for hit in hits
        if hit.contact_id in found  # deleted since the index was read
    ]


def find_by_phone(engine: Engine, account: Account, raw: str) -> Contact | None:
    """The live contact with this number, written in any format the account's
    region reads. Invalid when it is no phone number."""
    try:
        number = to_e164(raw, account.region)
    except InvalidNumber:
        raise Invalid("phone_number", f"{raw!r} is not a valid phone number") from None
    with engine.connect() as conn:
        return store.by_phone(conn, account.id, number)


def page(
    engine: Engine,
    account: Account,
    *,
    sort: str,
    descending: bool,
    after: tuple[Any, int] | None,
    limit: int,
    search: str = "",
) -> tuple[list[Contact], bool]:
    """A page of live contacts and whether more follow."""
    with engine.connect() as conn:
        rows = store.page(
            conn,
            account.id,
            sort=sort,
            descending=descending,
            after=after,
            limit=limit + 1,
            search=search,
        )
    return rows[:limit], len(rows) > limit


def detail(engine: Engine, account: Account, contact_id: int) -> tuple[Contact, Activity]:
    with engine.connect() as conn:
        contact = store.get(conn, account.id, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}", field="id_contact")
        return contact, store.activity(conn, account.id, contact)


def get(engine: Engine, account: Account, contact_id: int) -> Contact:
    with engine.connect() as conn:
        contact = store.get(conn, account.id, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}", field="id_contact")
    return contact


def tags_for(engine: Engine, contact_ids: list[int]) -> dict[int, list[str]]:
    """The tags of contacts the caller already read from its account."""
    with engine.connect() as conn:
        return store.tags_by_contact(conn, contact_ids)


def custom_fields(engine: Engine, account: Account) -> list[CustomField]:
    with engine.connect() as conn:
        return store.custom_fields_of(conn, account.id)


# -- writing ---------------------------------------------------------------


def switch_pro(
    engine: Engine, account: Account, contact_id: int, pro: bool, clock: Clock = SYSTEM_CLOCK
) -> Contact:
    def work(conn: Connection) -> Contact:
        if not store.set_pro(conn, account.id, contact_id, pro, clock.now()):
            raise NotFound(f"no contact {contact_id}", field="id_contact")
        return _reread(conn, account.id, contact_id)

    return run_write(engine, work)


def delete(engine: Engine, account: Account, contact_id: int, clock: Clock = SYSTEM_CLOCK) -> None:
    """Soft delete: the contact leaves every answer and count (lists too) and
    comes back, tags and lists kept, when its number is upserted again."""

    def work(conn: Connection) -> None:
        if not store.soft_delete(conn, account.id, contact_id, clock.now()):
            raise NotFound(f"no contact {contact_id}", field="id_contact")

    run_write(engine, work)


@dataclass(frozen=True, slots=True)
class TagChange:
    tags: list[str]  # the contact's tags after
    added: list[str]
    removed: list[str]


def change_tags(
    engine: Engine,
    account: Account,
    contact_id: int,
    add: list[str],
    remove: list[str],
    clock: Clock = SYSTEM_CLOCK,
) -> TagChange:
    """Add then remove tags (already cleaned by contact_rules.clean_tags); a
    tag in both lists ends removed. Invalid (`add`) past the per-contact cap."""

    def work(conn: Connection) -> TagChange:
        if not store.is_live(conn, account.id, contact_id):
            raise NotFound(f"no contact {contact_id}", field="id_contact")
        before = set(store.tags_of(conn, contact_id))
        after = (before | set(add)) - set(remove)
        if len(after) > contact_rules.MAX_TAGS_PER_CONTACT and len(after) > len(before):
            raise Invalid(
                "add", f"a contact holds at most {contact_rules.MAX_TAGS_PER_CONTACT} tags"
            )
        to_add = [tag for tag in add if tag not in before and tag not in remove]
        to_remove = [tag for tag in remove if tag in before]
        store.add_tags(conn, account.id, contact_id, to_add)
        store.remove_tags(conn, contact_id, to_remove)
        if to_add or to_remove:
            store.touch(conn, account.id, contact_id, clock.now())
        return TagChange(sorted(after), to_add, to_remove)

    return run_write(engine, work)


def set_custom_values(
    engine: Engine,
    account: Account,
    contact_id: int,
    values: dict[str, str],
    clock: Clock = SYSTEM_CLOCK,
) -> Contact:
    """Set the contact's values of the account's custom fields (`""` clears
    one); names must be defined first (Invalid otherwise)."""
    for name, value in values.items():
        if len(value) > contact_rules.MAX_CUSTOM_VALUE or "\x00" in value:
            raise Invalid(name, f"{name}: at most {contact_rules.MAX_CUSTOM_VALUE} characters")

    def work(conn: Connection) -> Contact:
        contact = store.get(conn, account.id, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}", field="id_contact")
        unknown = sorted(set(values) - store.custom_field_names(conn, account.id))
        if unknown:
            raise Invalid(unknown[0], f"no custom field {unknown[0]!r}; define it first")
        merged = {**contact.custom, **{k: v.strip() for k, v in values.items()}}
        store.set_custom(conn, account.id, contact_id, merged, clock.now())
        return _reread(conn, account.id, contact_id)

    return run_write(engine, work)


def define_custom_field(
    engine: Engine, account: Account, name: str, label: str = "", clock: Clock = SYSTEM_CLOCK
) -> None:
    """A new custom field; Invalid (`name`) when the name breaks the rule or
    is taken, or the account has MAX_CUSTOM_FIELDS already."""
    name = name.strip()
    if not contact_rules.is_custom_field_name(name):
        raise Invalid("name", "a field name is 1 to 64 of a-z, 0-9 and _")
    label = label.strip()[:200]

    def work(conn: Connection) -> None:
        if len(store.custom_field_names(conn, account.id)) >= contact_rules.MAX_CUSTOM_FIELDS:
            raise Invalid("name", f"at most {contact_rules.MAX_CUSTOM_FIELDS} custom fields")
        if not store.define_custom_field(conn, account.id, name, label, clock.now()):
            raise Invalid("name", f"there is already a field {name!r}")

    run_write(engine, work)


def delete_custom_field(engine: Engine, account: Account, field_id: int) -> None:
    def work(conn: Connection) -> None:
        if not store.delete_custom_field(conn, account.id, field_id):
            raise NotFound(f"no custom field {field_id}", field="id")

    run_write(engine, work)


def _reread(conn: Connection, account_id: int, contact_id: int) -> Contact:
    contact = store.get(conn, account_id, contact_id)
    assert contact is not None
    return contact
