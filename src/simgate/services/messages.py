"""Accept a sendsms batch: judge each message, store the accepted ones in one
transaction, and answer in the reference's shape.

Repeats: an `id_sms_api` already stored for the account returns the stored
answer when the content is the same, and `#007` when it differs. Concurrent
repeats are settled by the unique (account_id, id_sms_api) constraint with
INSERT ... ON CONFLICT DO NOTHING, so exactly one row is ever stored.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import Connection, Engine

from simgate import metrics
from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.domain.dates import iso_z
from simgate.domain.messages import Draft, Rejected, judge
from simgate.services import sending_policy
from simgate.services.accounts import Account, authenticate, cached_account
from simgate.store import messages as store
from simgate.store.db import run_write, run_write_async
from simgate.store.messages import StoredMessage


def _answer(
    id_sms_api: str,
    segments: int,
    user: str,
    sent_time: str,
    phone: Any,
    text: Any,
    errors: list[str] | None = None,
) -> dict[str, Any]:
    """One item of the answer, with exactly the reference's fields."""
    item = {
        "id_sms_api": id_sms_api,
        "sms_per_message": segments,
        "user": user,
        "sent_time": sent_time,
        "phone_number": phone,
        "message": text,
        "sent": 0 if errors else 1,
    }
    if errors:
        item["errors"] = errors
    return item


def _stored_answer(row: StoredMessage, user: str) -> dict[str, Any]:
    return _answer(
        row.id_sms_api, row.segments, user, iso_z(row.created_at), row.phone_number, row.message
    )


def _rejected_answer(rej: Rejected, user: str, sent_time: str) -> dict[str, Any]:
    return _answer(
        rej.id_sms_api, rej.segments, user, sent_time, rej.phone_number, rej.message, rej.errors
    )


def _reuse(draft: Draft) -> Rejected:
    return Rejected(
        draft.id_sms_api, draft.request_hash, draft.phone_number, draft.text, 0, ["#007"]
    )


# A request with more messages than this is judged (numbers parsed, segments
# counted, ids drawn) before it queues for the SQLite writer, so that the
# writer holds the store only for the insert and other accounts' requests do
# not wait behind the judging. Smaller requests keep the single hop: it is
# the fastest path, and judging 1,000 messages holds the writer about 0.1 s.
JUDGE_APART = 1000
# One big request judged at a time: it is pure CPU, and threads taking turns
# at the GIL would only cost more of it.
_judging = threading.Lock()


def accept_messages(
    engine: Engine,
    account: Account,
    items: list[Any],
    public_url: str,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[list[dict[str, Any]], int]:
    """Judge and store `items`; returns (answers in order, number newly stored)."""
    now = clock.now()
    judged = _judge_all(account, items, public_url, now)
    return run_write(engine, lambda conn: _store(conn, account, judged, now))


async def accept_with_key(
    engine: Engine,
    login: object,
    access_key: object,
    items: list[Any],
    public_url: str,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[Account, list[dict[str, Any]], int]:
    """The API's path: authenticate and store in one transaction (one queue
    for the writer and one commit per request, shared with concurrent
    requests on SQLite). Raises AuthError, storing nothing."""
    if len(items) <= JUDGE_APART:
        # Most requests come with a key used a moment ago: no read for it.
        known = cached_account(engine, login, access_key)

        def work(conn: Connection) -> tuple[Account, list[dict[str, Any]], int]:
            account = known or authenticate(conn, login, access_key)
            now = clock.now()
            judged = _judge_all(account, items, public_url, now)
            return (account, *_store(conn, account, judged, now))

        return await run_write_async(engine, work)

    account = await run_write_async(engine, lambda conn: authenticate(conn, login, access_key))
    now = clock.now()
    judged = await anyio.to_thread.run_sync(_judge_apart, account, items, public_url, now)

    def store(conn: Connection) -> tuple[Account, list[dict[str, Any]], int]:
        authenticate(conn, login, access_key)  # the key may have been revoked meanwhile
        return (account, *_store(conn, account, judged, now))

    return await run_write_async(engine, store, heavy=True)


def _judge_apart(
    account: Account,
    items: list[Any],
    public_url: str,
    now: datetime,
    trusted_numbers: bool = False,
) -> list[Draft | Rejected]:
    with _judging:
        return _judge_all(account, items, public_url, now, trusted_numbers)


def _judge_all(
    account: Account,
    items: list[Any],
    public_url: str,
    now: datetime,
    trusted_numbers: bool = False,
) -> list[Draft | Rejected]:
    """Judge every item alone; a client id repeated with other content is #007."""
    tz = account.tz
    judged: list[Draft | Rejected] = [
        judge(item, account.region, tz, public_url, now, trusted_numbers=trusted_numbers)
        for item in items
    ]
    first_use: dict[str, Draft] = {}
    for index, verdict in enumerate(judged):
        if isinstance(verdict, Draft) and verdict.client_id:
            original = first_use.setdefault(verdict.id_sms_api, verdict)
            if original.request_hash != verdict.request_hash:
                judged[index] = _reuse(verdict)
    return judged


def judge_batch(
    account: Account,
    items: list[Any],
    public_url: str,
    now: datetime,
    *,
    trusted_numbers: bool = False,
) -> list[Draft | Rejected]:
    """Judge a batch outside any transaction (for callers that store it with
    `store_judged` inside one of their own, like a campaign's start). With
    `trusted_numbers`, E.164 numbers the caller already checked are not parsed
    again."""
    return _judge_apart(account, items, public_url, now, trusted_numbers)


def store_judged(
    conn: Connection,
    account: Account,
    judged: list[Draft | Rejected],
    now: datetime,
    campaign_id: int | None = None,
    *,
    apply_policy: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """`judge_batch`'s verdicts stored in `conn`'s transaction, each message
    linked to `campaign_id`; the v1 answers in order and how many are new.

    `apply_policy=False` is for the replies the policy itself sends (an
    opt-out confirmation goes to a number that just opted out)."""
    return _store(conn, account, judged, now, campaign_id, apply_policy=apply_policy)


def _store(
    conn: Connection,
    account: Account,
    judged: list[Draft | Rejected],
    now: datetime,
    campaign_id: int | None = None,
    *,
    apply_policy: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """Store the accepted messages; the answers in order and how many are new.

    A repeat of a client id (within the batch or of an earlier request)
    answers with its first use: the stored row, same short link. The
    account's sending policy applies to the new ones (services/sending_policy).
    """
    drafts: dict[str, Draft] = {}
    for verdict in judged:
        if isinstance(verdict, Draft):
            drafts.setdefault(verdict.id_sms_api, verdict)
    stored: dict[str, StoredMessage] = {}
    client_ids = [d.id_sms_api for d in drafts.values() if d.client_id]
    if client_ids:
        stored.update(store.by_client_ids(conn, account.id, client_ids))
    fresh = [d for key, d in drafts.items() if key not in stored]
    refused: dict[str, Rejected] = {}
    if fresh and apply_policy:
        applied = sending_policy.apply(conn, account, fresh, now, campaign_id)
        fresh, refused = applied.kept, applied.refused
    inserted = _insert_fresh(conn, account, fresh, now, stored, campaign_id) if fresh else 0

    sent_time = iso_z(now)
    answers: list[dict[str, Any]] = []
    codes: dict[str, int] = {}  # refusals by code, for /metrics
    for verdict in judged:
        rejected: Rejected | None = None
        if isinstance(verdict, Rejected):
            rejected = verdict
        elif verdict.id_sms_api in refused:
            rejected = refused[verdict.id_sms_api]
        else:
            row = stored.get(verdict.id_sms_api)
            if row is not None and row.request_hash != verdict.request_hash:
                rejected = _reuse(verdict)
            elif row is not None:
                answers.append(_stored_answer(row, account.email))
            else:
                answers.append(_new_answer(drafts[verdict.id_sms_api], account.email, sent_time))
        if rejected is not None:
            answers.append(_rejected_answer(rejected, account.email, sent_time))
            for code in rejected.errors:
                codes[code] = codes.get(code, 0) + 1
    _count_on_commit(conn, inserted, codes)
    return answers, inserted


def _count_on_commit(conn: Connection, accepted: int, refused: dict[str, int]) -> None:
    if accepted:
        metrics.on_commit(conn, lambda: metrics.messages_accepted.inc(accepted))
    if refused:
        metrics.on_commit(conn, lambda: metrics.refused(refused))


def _insert_fresh(
    conn: Connection,
    account: Account,
    fresh: list[Draft],
    now: datetime,
    stored: dict[str, StoredMessage],
    campaign_id: int | None = None,
) -> int:
    """Insert `fresh`; returns how many rows are new. Client ids a concurrent
    request stored first are added to `stored` instead."""
    generated, won = store.insert_new(conn, account.id, fresh, now, campaign_id)
    lost = [d.id_sms_api for d in fresh if d.client_id and d.id_sms_api not in won]
    if lost:  # a concurrent request stored these first
        stored.update(store.by_client_ids(conn, account.id, lost))
    return generated + len(won)


def _new_answer(draft: Draft, user: str, sent_time: str) -> dict[str, Any]:
    return _answer(
        draft.id_sms_api, draft.segments, user, sent_time, draft.phone_number, draft.message
    )


__all__ = ["accept_messages", "accept_with_key", "judge_batch", "store_judged"]
