"""simgate.smpp.session against the SMSC simulator on loopback (smpp.md §12)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from simgate.smpp.session import Deliver, Link, LinkConfig, LinkLost, SubmitResult
from tests.support.smsc import PASSWORD, SYSTEM_ID, SmscSimulator

RTHROTTLED, RINVDSTADR, RX_T_APPN = 0x58, 0x0B, 0x64

FIELDS: dict[str, Any] = {
    "source_addr_ton": 5,
    "source_addr_npi": 0,
    "source_addr": "SimGate",
    "dest_addr_ton": 1,
    "dest_addr_npi": 1,
    "destination_addr": "491701234567",
    "registered_delivery": 1,
    "data_coding": 0,
    "short_message": b"Hello",
}


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll `check` (a blocking call to the simulator is fine) without blocking the link."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        await asyncio.sleep(0.02)
    return value


@contextlib.asynccontextmanager
async def running(
    sim: SmscSimulator,
    on_deliver: Callable[[Deliver], Awaitable[None]] | None = None,
    wait_bound: bool = True,
    **config: Any,
) -> AsyncIterator[tuple[Link, list[Deliver]]]:
    """A running Link to the simulator (bound unless `wait_bound` is False); stopped at the end."""
    received: list[Deliver] = []

    async def keep(deliver: Deliver) -> None:
        received.append(deliver)

    config.setdefault("reconnect_min", 0.1)
    config.setdefault("reconnect_max", 0.2)
    link_config = LinkConfig("127.0.0.1", sim.smpp_port, SYSTEM_ID, PASSWORD, **config)
    link = Link(link_config, on_deliver or keep)
    stop = asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    try:
        if wait_bound:
            await asyncio.wait_for(link.bound.wait(), 5)
        yield link, received
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize(
    ("bind", "binds"),
    [("trx", ["bind_transceiver"]), ("tx+rx", ["bind_receiver", "bind_transmitter"])],
)
async def test_submit_gets_its_id_and_the_receipt_reaches_on_deliver(
    smsc_sim: SmscSimulator, bind: str, binds: list[str]
) -> None:
    async with running(smsc_sim, bind=bind) as (link, received):
        assert sorted(s["bind"] for s in smsc_sim.health()["sessions"]) == binds
        result = await link.submit(**FIELDS)
        assert result.status == 0 and result.message_id is not None
        assert len(result.message_id) == 8

        (receipt,) = await eventually(lambda: received)
        assert receipt.esm_class == 0x04
        assert receipt.source_addr == "491701234567" and receipt.destination_addr == "SimGate"
        assert receipt.tlvs["receipted_message_id"] == result.message_id
        assert receipt.tlvs["message_state"] == 2
        assert b"stat:DELIVRD" in receipt.short_message
        await eventually(lambda: smsc_sim.dlrs()[0]["state"] == "acked")
        (record,) = smsc_sim.submits()
        assert (record["source_addr_ton"], record["dest_addr_ton"]) == (5, 1)
        assert record["short_message_hex"] == b"Hello".hex()
    # Stopping unbinds every connection and waits for the answer.
    assert smsc_sim.health()["unbind_received"] == len(binds)


async def test_mo_is_acknowledged_only_after_on_deliver_returns(smsc_sim: SmscSimulator) -> None:
    release = asyncio.Event()
    seen: list[Deliver] = []

    async def journal(deliver: Deliver) -> None:
        seen.append(deliver)
        await release.wait()

    async with running(smsc_sim, journal):
        assert smsc_sim.mo("491709999999", "SimGate", "Grüße 😀", vendor_tlv_hex="cafe")
        (mo,) = await eventually(lambda: seen)
        assert (mo.esm_class, mo.data_coding, mo.source_addr_ton) == (0, 8, 1)
        assert mo.short_message.decode("utf-16-be") == "Grüße 😀"
        await asyncio.sleep(0.2)
        assert smsc_sim.mos()[0]["state"] == "sent"  # not answered while journaling
        release.set()
        await eventually(lambda: smsc_sim.mos()[0]["state"] == "acked")


async def test_on_deliver_failing_asks_the_smsc_to_deliver_again(smsc_sim: SmscSimulator) -> None:
    smsc_sim.configure(receipt_delay_ms=50)
    calls: list[Deliver] = []

    async def flaky(deliver: Deliver) -> None:
        calls.append(deliver)
        if len(calls) == 1:
            raise RuntimeError("database is down")

    async with running(smsc_sim, flaky) as (link, _):
        await link.submit(**FIELDS)
        await eventually(lambda: smsc_sim.dlrs() and smsc_sim.dlrs()[0]["state"] == "acked")
    assert smsc_sim.dlrs()[0]["resp_statuses"] == [RX_T_APPN, 0]
    assert calls[0] == calls[1]


async def test_the_window_bounds_outstanding_submits(smsc_sim: SmscSimulator) -> None:
    smsc_sim.configure(window=10, resp_delay_ms=50, receipt_delay_ms=60000)
    async with running(smsc_sim, window=10) as (link, _):
        results = await asyncio.gather(*(link.submit(**FIELDS) for _ in range(50)))
    assert {r.status for r in results} == {0}
    assert len({r.message_id for r in results}) == 50
    health = smsc_sim.health()
    assert health["throttled"] == 0 and health["max_inflight"] == 10


async def test_throttling_is_retried_with_a_pause_and_permanent_errors_returned(
    smsc_sim: SmscSimulator,
) -> None:
    smsc_sim.configure(receipt_delay_ms=60000)
    async with running(smsc_sim, throttle_pause=0.05, throttle_retries=3) as (link, _):
        smsc_sim.reject(RTHROTTLED, count=3)
        started = time.monotonic()
        accepted = await link.submit(**FIELDS)
        assert accepted.status == 0 and accepted.message_id
        assert time.monotonic() - started >= 0.05 + 0.1 + 0.2  # paused, pause doubling
        assert len(smsc_sim.submits()) == 1

        smsc_sim.reject(RTHROTTLED, count=4)
        assert await link.submit(**FIELDS) == SubmitResult(RTHROTTLED, None)  # retries capped

        smsc_sim.reject(RINVDSTADR)
        assert await link.submit(**FIELDS) == SubmitResult(RINVDSTADR, None)  # not retried
        assert len(smsc_sim.submits()) == 1


async def test_a_dropped_link_fails_in_flight_submits_and_binds_again(
    smsc_sim: SmscSimulator,
) -> None:
    smsc_sim.configure(resp_delay_ms=5000, receipt_delay_ms=60000)
    async with running(smsc_sim, window=1) as (link, _):
        in_flight = asyncio.create_task(link.submit(**FIELDS))
        await eventually(lambda: smsc_sim.submits())
        assert smsc_sim.disconnect() == 1
        with pytest.raises(LinkLost):
            await in_flight
        smsc_sim.configure(resp_delay_ms=0)
        await asyncio.wait_for(link.bound.wait(), 5)
        # The window of one was freed by the lost submit.
        result = await asyncio.wait_for(link.submit(**FIELDS), 5)
        assert result.status == 0
    assert len(smsc_sim.submits()) == 2


async def test_the_smscs_unbind_is_answered_and_the_link_binds_again(
    smsc_sim: SmscSimulator,
) -> None:
    async with running(smsc_sim) as (link, _):
        first = smsc_sim.health()["sessions"][0]["id"]
        assert smsc_sim.unbind() == 1
        await eventually(
            lambda: (
                [s["id"] for s in smsc_sim.health()["sessions"] if s["bound"]] not in ([], [first])
            )
        )
        assert (await asyncio.wait_for(link.submit(**FIELDS), 5)).status == 0


async def test_an_unanswered_submit_tears_the_link_down(smsc_sim: SmscSimulator) -> None:
    smsc_sim.configure(resp_delay_ms=3000, receipt_delay_ms=60000)
    async with running(smsc_sim, response_timeout=0.3) as (link, _):
        with pytest.raises(LinkLost):
            await link.submit(**FIELDS)
        smsc_sim.configure(resp_delay_ms=0)
        await eventually(lambda: len(smsc_sim.health()["sessions"]) == 1)
        assert (await asyncio.wait_for(link.submit(**FIELDS), 5)).status == 0


async def test_enquire_link_is_sent_when_idle(smsc_sim: SmscSimulator) -> None:
    async with running(smsc_sim, enquire_interval=0.1):
        await eventually(lambda: smsc_sim.health()["enquire_link_received"] >= 2)


async def test_the_smscs_enquire_link_is_answered(smsc_sim: SmscSimulator) -> None:
    smsc_sim.configure(enquire_ms=50, resp_delay_ms=60000)
    async with running(smsc_sim, window=1) as (link, _):
        blocked = asyncio.create_task(link.submit(**FIELDS))  # the window is full from here on
        await eventually(lambda: smsc_sim.health()["enquire_link_resp_seen"] >= 3)
        blocked.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await blocked


async def test_wrong_credentials_back_off_long_with_a_clear_log_line(
    smsc_sim: SmscSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="simgate.smpp.session")
    config = LinkConfig(
        "127.0.0.1", smsc_sim.smpp_port, SYSTEM_ID, "wrong", bind_refused_backoff=60
    )

    async def ignore(deliver: Deliver) -> None:
        pass

    link = Link(config, ignore)
    stop = asyncio.Event()
    task = asyncio.create_task(link.run(stop))
    await eventually(lambda: caplog.records)
    assert "ESME_RINVPASWD" in caplog.text and "check system_id and password" in caplog.text
    await asyncio.sleep(0.3)
    assert len(caplog.records) == 1 and not link.bound.is_set()  # no second try soon
    stop.set()
    await asyncio.wait_for(task, 2)  # the long back-off ends at once on stop
