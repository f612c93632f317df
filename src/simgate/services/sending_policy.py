"""The account's sending policy applied to new messages, in the transaction
that stores them (DESIGN section 11, docs/policy.md).

Order for each new message: its number is valid (judged before) → not on the
account's opt-out list (else refused alone, #012, kept in policy_refusals) →
inside the sending window when one applies (else `scheduled` until it opens)
→ stored. Caps are the dispatcher's: over a cap, messages wait in the queue.
Every path that creates messages goes through here: v1 and v2 sendsms,
templates, campaigns, the dashboard and automatic replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from simgate.domain import windows
from simgate.domain.messages import Draft, Rejected
from simgate.services import access_cache
from simgate.services.access_cache import SendingFacts
from simgate.store import policies, suppressions
from simgate.store.accounts import Account
from simgate.store.suppressions import Refusal

OPTED_OUT = "#012"


@dataclass(slots=True)
class Applied:
    kept: list[Draft]  # to store, with validity, window flag and send date settled
    refused: dict[str, Rejected]  # id_sms_api → its refusal


def sending_facts(conn: Connection, account_id: int) -> SendingFacts:
    """The account's policy and whether its opt-out list is empty, cached briefly."""
    cache = access_cache.of(conn.engine)
    usable = cache.usable(conn)
    found = cache.facts(account_id) if usable else None
    if found is None:
        generation = cache.generation()
        policy = policies.get(conn, account_id)
        found = SendingFacts(policy, suppressions.is_empty(conn, account_id))
        if usable:
            cache.put_facts(account_id, found, generation)
    return found


def apply(
    conn: Connection,
    account: Account,
    fresh: list[Draft],
    now: datetime,
    campaign_id: int | None = None,
) -> Applied:
    """Apply the account's policy to `fresh` drafts (changed in place); the
    refused ones are recorded for the audit trail. The policy and whether
    the opt-out list is empty come from the access cache (services/
    access_cache) or two primary-key reads; a list that is not empty is
    looked up for the batch's numbers."""
    if not fresh:
        return Applied([], {})
    facts = sending_facts(conn, account.id)
    policy = facts.policy
    blocked = suppressions.among(
        conn, account.id, {d.phone_number for d in fresh}, empty=facts.optouts_empty
    )
    kept: list[Draft] = []
    refused: dict[str, Rejected] = {}
    country = account.region if policy.skip_holidays else None
    for draft in fresh:
        if draft.phone_number in blocked:
            shown = draft.id_sms_api if draft.client_id else ""
            refused[draft.id_sms_api] = Rejected(
                shown, draft.request_hash, draft.phone_number, draft.text, 0, [OPTED_OUT]
            )
            continue
        starts = draft.send_at or now
        if draft.valid_until is None and policy.default_validity is not None:
            draft.valid_until = starts + timedelta(seconds=policy.default_validity)
        draft.windowed = policy.windowed(
            campaign=campaign_id is not None, marketing=draft.marketing
        )
        if draft.windowed:
            opening = windows.next_opening(policy.windows, country, account.tz, starts)
            if opening > now:
                draft.send_at = opening
        kept.append(draft)
    suppressions.record_refusals(
        conn,
        account.id,
        [
            Refusal(d.id_sms_api, d.phone_number, OPTED_OUT)
            for d in fresh
            if d.id_sms_api in refused
        ],
        campaign_id,
        now,
    )
    return Applied(kept, refused)
