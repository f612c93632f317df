"""domain/sample_history: made-up history that holds together like the real thing."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simgate.domain.sample_history import (
    TABLES,
    WITH_IDS,
    Batch,
    Shape,
    history,
    phone_number,
    scheduled,
    scrambled,
)
from simgate.domain.sms import count_segments
from simgate.domain.states import DELIVERY_STATES, MESSAGE_STATES

NOW = datetime(2026, 11, 26, 14, 0, 0)
E164_MOBILE = re.compile(r"\+33[67][0-9]{8}")

shapes = st.builds(
    Shape,
    messages=st.integers(0, 300),
    days=st.integers(1, 120),
    numbers=st.one_of(st.none(), st.integers(1, 60)),
    contacts=st.one_of(st.none(), st.integers(1, 60)),
    campaigns=st.integers(0, 5),
    seed=st.integers(0, 2**16),
)
first_ids = st.fixed_dictionaries({t: st.integers(1, 10**6) for t in WITH_IDS})


def tables_of(batches: list[Batch]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for batch in batches:
        for row in batch.rows:
            assert len(row) == len(batch.columns), batch.table
            out[batch.table].append(dict(zip(batch.columns, row, strict=True)))
    return out


@settings(max_examples=25, deadline=None)
@given(shape=shapes, first=first_ids, account_id=st.integers(1, 50))
def test_rows_hold_together(shape: Shape, first: dict[str, int], account_id: int) -> None:
    batches = list(history(account_id, shape, NOW, first, device_id=7, contacts_stamp=3, chunk=64))
    order = [TABLES.index(b.table) for b in batches]
    # Parents first: each table's first batch comes after every parent's.
    firsts = {t: order.index(TABLES.index(t)) for t in {b.table for b in batches}}
    for child, parent in (("messages", "campaigns"), ("link_clicks", "messages"),
                          ("qualifications", "calls"), ("list_members", "contacts")):  # fmt: skip
        if child in firsts:
            assert firsts[parent] < firsts[child]
    rows = tables_of(batches)
    assert len(rows["messages"]) == shape.messages
    for table in WITH_IDS:  # ids contiguous from the first free one
        ids = [r["id"] for r in rows[table]]
        assert sorted(ids) == list(range(first[table], first[table] + len(ids))), table

    start = NOW - timedelta(days=shape.days)
    campaigns = {r["id"] for r in rows["campaigns"]}
    codes, client_ids = set(), set()
    by_campaign: dict[int, set[str]] = defaultdict(set)
    for m in rows["messages"]:
        assert m["account_id"] == account_id and E164_MOBILE.fullmatch(m["phone_number"])
        assert m["state"] in MESSAGE_STATES and m["state"] not in ("scheduled", "queued")
        assert start <= m["created_at"] <= NOW - timedelta(minutes=59)
        stamps = [m[k] for k in ("created_at", "dispatched_at", "acked_at", "sent_at",
                                 "delivered_at") if m[k] is not None]  # fmt: skip
        assert stamps == sorted(stamps)
        assert (m["delivered_at"] is not None) == (m["state"] == "received")
        assert (m["failed_at"] is not None) == (m["state"] in ("failed", "expired"))
        count = count_segments(m["message"])  # what an accept would have stored
        assert (m["encoding"], m["segments"]) == (count.encoding, count.parts)
        assert (m["short_code"] is None) == (m["url"] is None)
        if m["short_code"]:
            assert m["short_code"] in m["message"] and m["short_code"] not in codes
            codes.add(m["short_code"])
        assert m["id_sms_api"] not in client_ids
        client_ids.add(m["id_sms_api"])
        if m["campaign_id"] is not None:
            assert m["campaign_id"] in campaigns
            assert m["phone_number"] not in by_campaign[m["campaign_id"]]  # once per campaign
            by_campaign[m["campaign_id"]].add(m["phone_number"])

    recipients: dict[int, set[str]] = defaultdict(set)
    for r in rows["campaign_recipients"]:
        recipients[r["campaign_id"]].add(r["phone_number"])
    assert recipients == by_campaign

    messages = {m["id"]: m for m in rows["messages"]}
    for e in rows["message_events"]:
        assert messages[e["message_id"]]["state"] == e["state"] in ("failed", "expired")
    for c in rows["link_clicks"]:
        clicked = messages[c["message_id"]]
        assert clicked["url"] and clicked["state"] == "received"
        assert c["clicked_at"] > clicked["delivered_at"] and c["account_id"] == account_id
    for w in rows["webhooks"]:
        assert w["state"] in DELIVERY_STATES and w["url"].startswith("http://127.0.0.1:")
        assert (w["done_at"] is not None) == (w["state"] != "pending")
        if w["state"] == "pending":
            assert w["next_attempt_at"] > NOW + timedelta(days=300)  # no bench run retries it
    call_ids = {c["id"] for c in rows["calls"]}
    assert all(q["call_id"] in call_ids for q in rows["qualifications"])
    contacts = rows["contacts"]
    assert len({c["phone_number"] for c in contacts}) == len(contacts) == shape.contact_count()
    assert all(c["stamp"] == 3 for c in contacts)
    contact_ids = {c["id"] for c in contacts}
    assert all(m["contact_id"] in contact_ids for m in rows["list_members"])


@settings(max_examples=8, deadline=None)
@given(shape=shapes, first=first_ids)
def test_same_inputs_same_rows(shape: Shape, first: dict[str, int]) -> None:
    def rows() -> list[tuple[str, list[tuple[Any, ...]]]]:
        return [(b.table, b.rows) for b in history(3, shape, NOW, first)]

    assert rows() == rows()


@given(st.integers(0, 10**7), st.integers(0, 10**7))
def test_distinct_indexes_distinct_numbers_and_ids(a: int, b: int) -> None:
    assert E164_MOBILE.fullmatch(phone_number(a))
    assert (phone_number(a) == phone_number(b)) == (a == b)
    assert (scrambled(a, 44) == scrambled(b, 44)) == (a == b)
    assert len(scrambled(a, 60)) == 15


def test_scheduled_messages_wait_for_later() -> None:
    rows = tables_of(list(scheduled(2, 250, NOW, 1000, chunk=100)))["messages"]
    assert [r["id"] for r in rows] == list(range(1000, 1250))
    assert all(r["state"] == "scheduled" and r["send_at"] > NOW + timedelta(hours=23)
               and r["created_at"] <= NOW for r in rows)  # fmt: skip
