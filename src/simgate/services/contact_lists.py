"""Contact lists: named sets of an account's contacts, shared by the v2 API,
the dashboard and campaigns (which read list_members)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.errors import NotFound
from simgate.services.accounts import Account
from simgate.store import contacts as contact_store
from simgate.store import lists as store
from simgate.store.contacts import Contact
from simgate.store.db import reading, run_write
from simgate.store.lists import ContactList, ListChoice

# Re-exported: the edges (api/, web/) import no store module.
__all__ = ["Contact", "ContactList", "ListChoice"]

MAX_MEMBERS_SHOWN = 100


def _missing(list_id: int) -> NotFound:
    return NotFound(f"no list {list_id}", field="list_id")


def page(
    engine: Engine, account: Account, after: tuple[datetime, int] | None, limit: int
) -> tuple[list[ContactList], bool]:
    with reading(engine) as conn:
        rows = store.page(conn, account.id, after, limit + 1)
    return rows[:limit], len(rows) > limit


def choices(engine: Engine, account: Account, limit: int) -> list[ListChoice]:
    """The newest `limit` lists, by id and name only, to pick one (a contact's page)."""
    with reading(engine) as conn:
        return store.newest(conn, account.id, limit)


def get(engine: Engine, account: Account, list_id: int) -> ContactList:
    with reading(engine) as conn:
        found = store.get(conn, account.id, list_id)
    if found is None:
        raise _missing(list_id)
    return found


def detail(
    engine: Engine, account: Account, list_id: int, limit: int
) -> tuple[ContactList, list[Contact]]:
    """The list and its first `limit` live members, in the order they were added."""
    with reading(engine) as conn:
        found = store.get(conn, account.id, list_id)
        if found is None:
            raise _missing(list_id)
        ids = store.members(conn, list_id, limit)
        by_id = contact_store.by_ids(conn, account.id, ids)
    return found, [by_id[cid] for cid in ids if cid in by_id]


def create(
    engine: Engine, account: Account, name: str, description: str, clock: Clock = SYSTEM_CLOCK
) -> ContactList:
    def work(conn: Connection) -> ContactList:
        list_id = store.create(conn, account.id, name, description, clock.now())
        created = store.get(conn, account.id, list_id)
        assert created is not None
        return created

    return run_write(engine, work)


def update(
    engine: Engine,
    account: Account,
    list_id: int,
    name: str,
    description: str,
    clock: Clock = SYSTEM_CLOCK,
) -> ContactList:
    """Rename or describe; an empty `name` or `description` leaves it as it is."""
    values = {key: value for key, value in (("name", name), ("description", description)) if value}

    def work(conn: Connection) -> ContactList:
        if not store.exists(conn, account.id, list_id):
            raise _missing(list_id)
        if values:
            store.update_list(conn, account.id, list_id, values, clock.now())
        found = store.get(conn, account.id, list_id)
        assert found is not None
        return found

    return run_write(engine, work)


def delete(engine: Engine, account: Account, list_id: int) -> None:
    """The list and its memberships; the contacts stay. Campaigns made from it
    keep their recipients (fixed when they were made)."""

    def work(conn: Connection) -> None:
        if not store.delete_list(conn, account.id, list_id):
            raise _missing(list_id)

    run_write(engine, work)


@dataclass(frozen=True, slots=True)
class MemberChange:
    changed: list[int]  # added (or removed)
    skipped: list[int]  # already members (or not members)
    not_found: list[int]  # no live contact of this account
    contacts: int  # live members after


def add_members(
    engine: Engine, account: Account, list_id: int, ids: list[int], clock: Clock = SYSTEM_CLOCK
) -> MemberChange:
    wanted = list(dict.fromkeys(ids))

    def work(conn: Connection) -> MemberChange:
        if not store.exists(conn, account.id, list_id):
            raise _missing(list_id)
        live = store.live_contact_ids(conn, account.id, wanted)
        members = store.member_ids(conn, list_id, wanted)
        added = [cid for cid in wanted if cid in live and cid not in members]
        store.add_members(conn, list_id, added, clock.now())
        if added:
            store.touch(conn, list_id, clock.now())
        return _change(conn, account, list_id, added, wanted, live, members)

    return run_write(engine, work)


def remove_members(
    engine: Engine, account: Account, list_id: int, ids: list[int], clock: Clock = SYSTEM_CLOCK
) -> MemberChange:
    wanted = list(dict.fromkeys(ids))

    def work(conn: Connection) -> MemberChange:
        if not store.exists(conn, account.id, list_id):
            raise _missing(list_id)
        live = store.live_contact_ids(conn, account.id, wanted)
        members = store.member_ids(conn, list_id, wanted)
        removed = [cid for cid in wanted if cid in live and cid in members]
        store.remove_members(conn, list_id, removed)
        if removed:
            store.touch(conn, list_id, clock.now())
        kept_out = {cid for cid in wanted if cid not in members}
        return _change(conn, account, list_id, removed, wanted, live, kept_out)

    return run_write(engine, work)


def _change(
    conn: Connection,
    account: Account,
    list_id: int,
    changed: list[int],
    wanted: list[int],
    live: set[int],
    unchanged: set[int],
) -> MemberChange:
    found = store.get(conn, account.id, list_id)
    assert found is not None
    return MemberChange(
        changed=changed,
        skipped=[cid for cid in wanted if cid in live and cid in unchanged],
        not_found=[cid for cid in wanted if cid not in live],
        contacts=found.contacts,
    )


@dataclass(frozen=True, slots=True)
class AddAll:
    added: int
    skipped: int  # already members
    total: int  # live contacts of the account


def add_all(engine: Engine, account: Account, list_id: int, clock: Clock = SYSTEM_CLOCK) -> AddAll:
    def work(conn: Connection) -> AddAll:
        if not store.exists(conn, account.id, list_id):
            raise _missing(list_id)
        added, total = store.add_all(conn, account.id, list_id, clock.now())
        if added:
            store.touch(conn, list_id, clock.now())
        return AddAll(added, total - added, total)

    return run_write(engine, work, heavy=True)
