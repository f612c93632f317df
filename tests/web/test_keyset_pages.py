"""Dashboard lists page by keyset (store/dashboard/common), on both stores:
"older" links walk every row once in order, "newer" links walk back to the
same pages, rows added meanwhile do not shift a page, and a part of a number
searches window by window without losing a match."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from simgate.domain.cursors import page_link
from simgate.services import dashboard
from simgate.services.accounts import Account, create_account
from simgate.services.dashboard.messages import MessageFilter
from simgate.store.dashboard import common
from simgate.store.dashboard.common import Page
from simgate.store.tables import contacts, messages

NOW = datetime(2026, 3, 11, 14, 20)


@pytest.fixture
def owner(engine: Engine) -> Account:
    account, _ = create_account(engine, "owner@example.com", "Europe/Paris", "FR")
    return account


def add_messages(engine: Engine, account: Account, count: int, start: int = 0) -> None:
    rows = [
        {
            "account_id": account.id,
            "id_sms_api": f"m{i}",
            "request_hash": "h",
            "phone_number": f"+336{i:08d}",
            "message": "hello",
            "priority": 1,
            "encoding": "GSM-7",
            "segments": 1,
            "state": "received" if i % 2 else "failed",
            "send_at": NOW,
            # Groups of four share a time: the id decides among them.
            "created_at": NOW + timedelta(minutes=i // 4),
            "attempts": 0,
        }
        for i in range(start, start + count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(messages), rows)


def newest_first(engine: Engine, account: Account) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(messages.c.id_sms_api)
                .where(messages.c.account_id == account.id)
                .order_by(messages.c.created_at.desc(), messages.c.id.desc())
            ).scalars()
        )


def walk_older(first: Page, follow: Callable[[str], Page]) -> list[Page]:
    pages = [first]
    while pages[-1].after is not None:
        pages.append(follow(pages[-1].after))
        assert len(pages) < 100
    return pages


def ids(page: Page) -> list[str]:
    return [row.id_sms_api for row in page.rows]


def test_older_and_newer_links_walk_every_message_once(engine: Engine, owner: Account) -> None:
    add_messages(engine, owner, 130)

    def follow(link: str) -> Page:
        return dashboard.messages.list_messages(engine, owner.id, MessageFilter(), link)

    pages = walk_older(follow(""), follow)
    assert [len(p.rows) for p in pages] == [50, 50, 30]
    assert [p.page for p in pages] == [1, 2, 3]
    assert [i for p in pages for i in ids(p)] == newest_first(engine, owner)
    assert pages[0].before is None and pages[1].before is not None
    # Back from the last page: the same pages, the first one with no "newer".
    back = follow(pages[2].before or "")
    assert ids(back) == ids(pages[1]) and back.page == 2
    top = follow(back.before or "")
    assert ids(top) == ids(pages[0]) and top.page == 1 and top.before is None


def test_new_messages_do_not_shift_an_older_page(engine: Engine, owner: Account) -> None:
    add_messages(engine, owner, 120)

    def follow(link: str) -> Page:
        return dashboard.messages.list_messages(engine, owner.id, MessageFilter(), link)

    first = follow("")
    second = follow(first.after or "")
    add_messages(engine, owner, 10, start=1000)  # newer than all
    assert ids(follow(first.after or "")) == ids(second)
    # "Newer" from page 2 now finds more than a page above it: not yet the top.
    back = follow(second.before or "")
    assert back.page == 2 and back.before is not None
    assert ids(back)[-1] == ids(first)[-1]


def test_filters_page_by_keyset_too(engine: Engine, owner: Account) -> None:
    add_messages(engine, owner, 130)
    filt = MessageFilter(state="failed", since=NOW, until=NOW + timedelta(minutes=30))

    def follow(link: str) -> Page:
        return dashboard.messages.list_messages(engine, owner.id, filt, link)

    pages = walk_older(follow(""), follow)
    expected = [f"m{i}" for i in range(119, -1, -1) if i % 2 == 0]
    assert [i for p in pages for i in ids(p)] == expected
    exact = dashboard.messages.list_messages(
        engine, owner.id, MessageFilter(number="06 00 00 00 42"), "", "FR"
    )
    assert ids(exact) == ["m42"] and exact.scanned is None


def test_a_part_of_a_number_searches_window_by_window(
    engine: Engine, owner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "SCAN_WINDOW", 40)
    add_messages(engine, owner, 200)
    filt = MessageFilter(number="7")  # m7, m17, m27, m70..m79, ... : 38 of them

    def follow(link: str) -> Page:
        return dashboard.messages.list_messages(engine, owner.id, filt, link, "FR")

    pages = walk_older(follow(""), follow)
    found = [i for p in pages for i in ids(p)]
    assert found == [i for i in newest_first(engine, owner) if "7" in i[1:]]
    assert all(p.scanned == 40 for p in pages[:-1])  # each stopped at its window
    assert len(pages) == 5 and pages[-1].after is None
    # The way back looks through windows of its own (anchored on the first
    # match shown), so its pages may group the matches otherwise, but each
    # is a run of them in order, and it ends on the first page.
    back = [follow(pages[-1].before or "")]
    while back[-1].before is not None:
        back.append(follow(back[-1].before))
        assert len(back) < 20
    text = "," + ",".join(found) + ","
    assert all("," + ",".join(ids(p)) + "," in text for p in back if p.rows)
    assert back[-1].page == 1 and ids(back[-1]) == ids(pages[0])


def test_links_that_do_not_fit_are_the_first_page(engine: Engine, owner: Account) -> None:
    add_messages(engine, owner, 60)
    first = dashboard.messages.list_messages(engine, owner.id, MessageFilter())
    for link in (
        "2",
        "x" * 600,
        page_link(3, False, ("not a date", 1)),
        page_link(3, False, (1, 1)),
    ):
        page = dashboard.messages.list_messages(engine, owner.id, MessageFilter(), link)
        assert ids(page) == ids(first) and page.page == 1, link


def test_contacts_page_by_name(engine: Engine, owner: Account) -> None:
    rows: list[dict[str, Any]] = [
        {
            "account_id": owner.id,
            "phone_number": f"+336{i:08d}",
            "firstname": f"F{i % 3}",
            "lastname": f"L{i % 7}",
            "search_name": "",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for i in range(120)
    ]
    with engine.begin() as conn:
        conn.execute(insert(contacts), rows)

    def follow(link: str) -> Page:
        return dashboard.contacts.list_contacts(engine, owner.id, "", link)

    pages = walk_older(follow(""), follow)
    names = [(c.lastname, c.firstname, c.id) for p in pages for c in p.rows]
    assert names == sorted(names) and len(names) == 120
    back = follow(pages[-1].before or "")
    assert back.rows == pages[-2].rows
