"""The contact book: reading, searching and editing an account's contacts,
shared by the v2 API and the dashboard.

Search speed. `search` scores names in memory (domain/contact_search): each
node keeps, per account, a `NameIndex` of (id, folded name, number) built from
the store. Before every search it reads the account's `contacts_stamp` (one
primary-key lookup). Every write that changes a name, a number or whether a
contact is live bumps that stamp and marks the rows it writes with the new
value, in its own transaction (store/contacts). So:

- an index whose stamp still matches is current, whichever node wrote;
- when the stamp moved, only the rows written since are read (an index range
  on contacts(account_id, stamp)) and laid over the index: the base stops
  answering for them and a small index of those rows answers instead. After
  MAX_OVERLAY changed rows (or a twentieth of the base) the base is rebuilt
  from every row, which takes one to three seconds per 10^5 contacts;
- the stamp is read before the rows, so rows newer than the stamp only make
  the next search read them again. On PostgreSQL the stamp's row lock orders
  the writers, so several nodes on one store never answer from a stale index.

Indexes are per account, so one account's 10^5 contacts cost another account
nothing but memory; a lock per account lets one request build while the
others of that account wait; the least recently used indexes go when the
cached contacts pass MAX_CACHED_CONTACTS. The found ids are then read from the
store (live ones only), in one query by primary key. A search reads through
store.db.reading: on SQLite a snapshot, not a queue for the write lock.
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
from simgate.domain.contact_search import Hit, NameIndex, best, looks_like_phone
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.errors import Invalid, NotFound
from simgate.services.accounts import Account
from simgate.store import contacts as store
from simgate.store import custom_fields as field_store
from simgate.store.contacts import SORTS, Activity, Contact, sort_value
from simgate.store.custom_fields import CustomField, FieldName
from simgate.store.db import reading, run_write

# Re-exported: the edges (api/, web/) import no store module.
__all__ = ["SORTS", "Activity", "Contact", "CustomField", "FieldName", "sort_value"]

# Contacts held in search indexes per node, across accounts: about 0.6 KB each
# (57 MB for 100,000 mostly distinct names), so some 300 MB at most.
MAX_CACHED_CONTACTS = 500_000
MAX_OVERLAY = 2_000  # rows written since the base was built, before it is built again


@dataclass(frozen=True, slots=True)
class Found:
    contact: Contact
    score: int
    match_type: str


@dataclass(frozen=True, slots=True)
class _Entry:
    """An account's search index as of `stamp`: the `base` built from every
    row, and an `overlay` of the rows written since (by id: name, number,
    live), which the base must not answer for."""

    stamp: int
    base: NameIndex
    changed: dict[int, tuple[str, str, bool]]
    overlay: NameIndex
    hidden: frozenset[int]

    def search(self, text: str, mode: str, fuzzy: bool, limit: int, e164: str | None) -> list[Hit]:
        found = self.base.search(text, mode, fuzzy, limit, e164, exclude=self.hidden)
        if self.changed:
            found += self.overlay.search(text, mode, fuzzy, limit, e164)
        return best(found, limit)


def _entry(stamp: int, base: NameIndex, changed: dict[int, tuple[str, str, bool]]) -> _Entry:
    live = [(cid, name, phone) for cid, (name, phone, alive) in changed.items() if alive]
    return _Entry(stamp, base, changed, NameIndex(live), frozenset(changed))


class _IndexCache:
    """The search index of each account of one engine.

    A search reads the account's stamp. Unchanged: the index is current. Moved:
    the rows written since the index's stamp are read (an index range) and
    laid over the base; once the overlay holds more than MAX_OVERLAY rows (or
    a twentieth of the base) the base is built again from every row.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._size = 0

    def entry(self, conn: Connection, account_id: int) -> _Entry:
        current = store.stamp(conn, account_id)
        cached = self._cached(account_id)
        if cached is not None and cached.stamp == current:
            return cached
        # Wait for the lock outside any transaction: on SQLite one holds the
        # write lock, which the request building the index may need to read.
        conn.rollback()
        with self._lock_of(account_id):  # one request builds, the others wait for it
            cached = self._cached(account_id)
            if cached is not None and cached.stamp >= current:
                return cached
            stamp = store.stamp(conn, account_id)  # first the stamp, then the rows
            rows: list[tuple[int, str, str]] | None = None
            changed: dict[int, tuple[str, str, bool]] = {}
            if cached is not None:
                changed = dict(cached.changed)
                for cid, name, phone, live in store.changed_since(conn, account_id, cached.stamp):
                    changed[cid] = (name, phone, live)
            if cached is None or len(changed) > max(MAX_OVERLAY, len(cached.base) // 20):
                rows, changed = store.index_rows(conn, account_id), {}
            # End the read before the build: on SQLite a transaction holds the
            # write lock, and a build takes seconds per 10^5 contacts.
            conn.rollback()
            if rows is not None:
                fresh = _entry(stamp, NameIndex(rows), {})
            else:
                assert cached is not None
                fresh = _entry(stamp, cached.base, changed)
            self._put(account_id, fresh)
            return fresh

    def _cached(self, account_id: int) -> _Entry | None:
        with self._guard:
            entry = self._entries.get(account_id)
            if entry is not None:
                self._entries.move_to_end(account_id)
            return entry

    def _lock_of(self, account_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(account_id, threading.Lock())

    def _put(self, account_id: int, entry: _Entry) -> None:
        with self._guard:
            old = self._entries.pop(account_id, None)
            if old is not None:
                self._size -= len(old.base)
            self._entries[account_id] = entry
            self._size += len(entry.base)
            while self._size > MAX_CACHED_CONTACTS and len(self._entries) > 1:
                _, gone = self._entries.popitem(last=False)
                self._size -= len(gone.base)


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
    with reading(engine) as conn:
        entry = _cache(engine).entry(conn, account.id)
        hits = entry.search(text, mode, fuzzy, limit, e164)
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
    with reading(engine) as conn:
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
    with reading(engine) as conn:
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
    with reading(engine) as conn:
        contact = store.get(conn, account.id, contact_id)
        if contact is None:
            raise NotFound(f"no contact {contact_id}", field="id_contact")
        return contact, store.activity(conn, account.id, contact)


def get(engine: Engine, account: Account, contact_id: int) -> Contact:
    with reading(engine) as conn:
        contact = store.get(conn, account.id, contact_id)
    if contact is None:
        raise NotFound(f"no contact {contact_id}", field="id_contact")
    return contact


def tags_for(engine: Engine, contact_ids: list[int]) -> dict[int, list[str]]:
    """The tags of contacts the caller already read from its account."""
    with reading(engine) as conn:
        return store.tags_by_contact(conn, contact_ids)


def custom_fields(engine: Engine, account: Account) -> list[CustomField]:
    with reading(engine) as conn:
        return field_store.custom_fields_of(conn, account.id)


def field_names(engine: Engine, account: Account) -> list[FieldName]:
    """The custom fields' names and labels, without how many contacts use them."""
    with reading(engine) as conn:
        return field_store.field_names_of(conn, account.id)


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
        unknown = sorted(set(values) - field_store.custom_field_names(conn, account.id))
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
        if len(field_store.custom_field_names(conn, account.id)) >= contact_rules.MAX_CUSTOM_FIELDS:
            raise Invalid("name", f"at most {contact_rules.MAX_CUSTOM_FIELDS} custom fields")
        if not field_store.define_custom_field(conn, account.id, name, label, clock.now()):
            raise Invalid("name", f"there is already a field {name!r}")

    run_write(engine, work)


def delete_custom_field(engine: Engine, account: Account, field_id: int) -> None:
    def work(conn: Connection) -> None:
        if not field_store.delete_custom_field(conn, account.id, field_id):
            raise NotFound(f"no custom field {field_id}", field="id")

    run_write(engine, work)


def _reread(conn: Connection, account_id: int, contact_id: int) -> Contact:
    contact = store.get(conn, account_id, contact_id)
    assert contact is not None
    return contact
