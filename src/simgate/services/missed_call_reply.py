"""The automatic SMS an account sends to a number whose call was missed
(docs/policy.md, "Missed-call reply"), at most once per number per period.

Called from the report handling (services/device_reports.py), in the
transaction that stores the missed call, so the reply and the record that
it went out commit together. The reply is an ordinary message: judged as an
API message and stored through the account's sending policy (opt-out,
window, validity), at normal priority.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from simgate.domain.messages import Draft, judge
from simgate.services import messages
from simgate.services.accounts import Account
from simgate.store import auto_replies, policies

KIND = "missed_call"


def reply(
    conn: Connection, account: Account, caller: str, called_at: datetime, now: datetime
) -> bool:
    """Send the account's missed-call reply to `caller` if it has one, the
    caller is a number a message can go to (not hidden, not alphanumeric),
    the call is recent (a phone that reports its call log late, after a
    restart, does not answer calls older than the period) and no reply went
    to it within the period; True when one was stored."""
    policy = policies.get(conn, account.id)
    if not policy.missed_call_reply:
        return False
    if now - called_at > timedelta(seconds=policy.missed_call_period):
        return False
    item = {"phone_number": caller, "message": policy.missed_call_reply}
    # Judged here, not with messages.judge_batch: that one waits its turn
    # behind big batches, and this transaction holds the store meanwhile. No
    # link in the text: the public URL for short links is never needed.
    verdict = judge(item, account.region, account.tz, "", now)
    if not isinstance(verdict, Draft):
        return False
    number = verdict.phone_number
    if not auto_replies.take_turn(conn, account.id, KIND, number, now, policy.missed_call_period):
        return False
    _, stored = messages.store_judged(conn, account, [verdict], now)
    return stored > 0
