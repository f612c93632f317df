"""The Calls page: the call log and qualifying a call from the dashboard."""

from __future__ import annotations

from sqlalchemy import Engine

from simgate.clock import SYSTEM_CLOCK, Clock
from simgate.errors import NotFound
from simgate.services.accounts import Account
from simgate.services.qualifications import record_qualification
from simgate.store import calls as call_store
from simgate.store.dashboard import calls as store
from simgate.store.dashboard.calls import QualificationRow
from simgate.store.dashboard.common import Page
from simgate.store.db import reading

MAX_QUALIFICATION = 2000  # characters


def list_calls(
    engine: Engine, account_id: int, link: str = ""
) -> tuple[Page, dict[int, list[QualificationRow]]]:
    """A page of calls, newest first, and each call's qualifications."""
    with reading(engine) as conn:
        result = store.page_of_calls(conn, account_id, link)
        qualifications = store.qualifications_of(conn, [row.id for row in result.rows])
    return result, qualifications


def qualify_call(
    engine: Engine, account: Account, call_id: int, text: str, clock: Clock = SYSTEM_CLOCK
) -> int:
    """Record a qualification typed in the dashboard; its webhook commits with it."""
    text = text.strip()
    if not text:
        raise ValueError("write the qualification first")
    if len(text) > MAX_QUALIFICATION:
        raise ValueError(f"at most {MAX_QUALIFICATION} characters")
    with engine.begin() as conn:
        number = call_store.number_of_call(conn, account.id, call_id)
        if number is None:
            raise NotFound(f"no call {call_id}")
        return record_qualification(
            conn, account, number, text, "interface", clock.now(), call_id=call_id
        )
