"""The smpp driver against the SMSC simulator, without a simgate server: what
it reports, what it refuses to claim, that a restart never submits again, and
that what a deliver_sm teaches is on disk before it is answered."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simgate.cli import main
from simgate.device.drivers import (
    LAPSED,
    Delivered,
    Failed,
    IncomingSms,
    NotSent,
    Sent,
    Undelivered,
)
from simgate.device.drivers.smpp.driver import SmppDriver, SmppOptions
from simgate.smpp.session import Deliver, LinkConfig
from simgate.smpp.text import encode_parts
from tests.support.driver_reading import Reading, until
from tests.support.smsc import PASSWORD, SYSTEM_ID, SmscSimulator

LONG = "Le colis 4242 arrive demain entre 8h et 12h, merci de confirmer. " * 5  # 3 parts


def driver(sim: SmscSimulator, folder: Path, **options: object) -> SmppDriver:
    link = LinkConfig("127.0.0.1", sim.smpp_port, SYSTEM_ID, PASSWORD, reconnect_min=0.2)
    settings = SmppOptions(source_addr="SimGate", **options)  # type: ignore[arg-type]
    return SmppDriver(link, folder, settings, fsync=False)


async def test_sent_then_delivered_and_a_restart_only_reports_again(
    smsc_sim: SmscSimulator, tmp_path: Path
) -> None:
    async with Reading(driver(smsc_sim, tmp_path)) as reading:
        await reading.driver.send_sms("1.0", "+33612000001", LONG)  # type: ignore[attr-defined]
        await until(lambda: reading.of("1.0") == ["Sent", "Delivered"])
    assert len(smsc_sim.submits()) == 3
    [message] = smsc_sim.messages()
    assert message["text"] == LONG

    async with Reading(driver(smsc_sim, tmp_path)) as again:  # the agent restarted
        await again.driver.send_sms("1.0", "+33612000001", LONG)  # type: ignore[attr-defined]
        await until(lambda: again.of("1.0") == ["Sent", "Delivered"])
    assert len(smsc_sim.submits()) == 3  # nothing submitted again


@pytest.mark.parametrize("concat", ["udh16", "sar", "payload"])
async def test_each_concatenation_arrives_whole_and_is_delivered(
    smsc_sim: SmscSimulator, tmp_path: Path, concat: str
) -> None:
    text = LONG + " 😀"  # UCS-2, 5 parts of 66 or 67 units
    async with Reading(driver(smsc_sim, tmp_path, concat=concat)) as reading:
        await reading.driver.send_sms("c.0", "+33612000020", text)  # type: ignore[attr-defined]
        await until(lambda: reading.of("c.0") == ["Sent", "Delivered"])
    [message] = smsc_sim.messages()
    assert (message["kind"], message["text"]) == (concat, text)
    assert len(smsc_sim.submits()) == (1 if concat == "payload" else 5)


async def test_a_transmitter_and_receiver_pair_sends_and_receives(
    smsc_sim: SmscSimulator, tmp_path: Path
) -> None:
    link = LinkConfig("127.0.0.1", smsc_sim.smpp_port, SYSTEM_ID, PASSWORD, bind="tx+rx")
    phone = SmppDriver(link, tmp_path, SmppOptions(source_addr="+33700000001"), fsync=False)
    async with Reading(phone) as reading:
        await phone.send_sms("p.0", "+33612000021", "pair")
        await until(lambda: reading.of("p.0") == ["Sent", "Delivered"])
        assert smsc_sim.mo("33698765432", "33700000001", "réponse")
        await until(lambda: any(isinstance(e, IncomingSms) for e in reading.events))
        binds = sorted(s["bind"] for s in smsc_sim.health()["sessions"] if s["bound"])
        assert binds == ["bind_receiver", "bind_transmitter"]
    [submit] = smsc_sim.submits()
    assert (submit["source_addr_ton"], submit["source_addr"]) == (1, "33700000001")


async def test_a_receipt_before_its_submit_sm_resp_is_still_matched(
    smsc_sim: SmscSimulator, tmp_path: Path
) -> None:
    smsc_sim.configure(resp_delay_ms=600, receipt_delay_ms=0)
    async with Reading(driver(smsc_sim, tmp_path)) as reading:
        await reading.driver.send_sms("2.0", "+33612000002", "quick")  # type: ignore[attr-defined]
        await until(lambda: reading.of("2.0") == ["Sent", "Delivered"])
    [dlr] = smsc_sim.dlrs()
    assert dlr["state"] == "acked"


async def test_refusals_lapses_and_undelivered(smsc_sim: SmscSimulator, tmp_path: Path) -> None:
    async with Reading(driver(smsc_sim, tmp_path)) as reading:
        send = reading.driver.send_sms  # type: ignore[attr-defined]
        past = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
        with pytest.raises(NotSent, match=LAPSED):
            await send("3.0", "+33612000003", "too late", valid_until=past)
        smsc_sim.reject(0x0B)  # ESME_RINVDSTADR on the first part: nothing went out
        with pytest.raises(NotSent, match="ESME_RINVDSTADR"):
            await send("4.0", "+33612000004", LONG)
        await send("5.0", "+33612000666", "undeliverable")
        await until(lambda: reading.of("5.0") == ["Sent", "Undelivered"])
        [undelivered] = [e for e in reading.events if isinstance(e, Undelivered)]
        assert undelivered.reason.startswith("UNDELIV (err 001)")
        with pytest.raises(NotSent):
            await send("6.0", "+33612000006", "two SIMs?", 2)
        # validity is passed on, as an absolute UTC time (smpp.md §2)
        soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
        await send("7.0", "+33612000007", "valid an hour", valid_until=soon)
        await until(lambda: "Sent" in reading.of("7.0"))
    assert [s["destination_addr"] for s in smsc_sim.submits()] == ["33612000666", "33612000007"]
    assert smsc_sim.submits()[1]["validity_period"] == soon.strftime("%y%m%d%H%M%S") + "000+"


async def test_a_refusal_after_the_first_part_fails_the_message(
    smsc_sim: SmscSimulator, tmp_path: Path
) -> None:
    phone = driver(smsc_sim, tmp_path)
    async with Reading(phone) as reading:
        original = phone.link.submit
        calls = 0

        async def refuse_the_second(**fields: object) -> object:
            nonlocal calls
            calls += 1
            if calls == 2:
                smsc_sim.reject(0x45)  # ESME_RSUBMITFAIL
            return await original(**fields)

        phone.link.submit = refuse_the_second  # type: ignore[method-assign]
        await phone.send_sms("8.0", "+33612000008", LONG)
        await until(lambda: reading.of("8.0") == ["Failed"])
        [failed] = [e for e in reading.events if isinstance(e, Failed)]
        assert "part 2 of 3" in failed.reason and "1 part(s) went out" in failed.reason
    assert len(smsc_sim.submits()) == 1  # part 3 never went


async def test_a_link_down_between_two_parts_fails_the_message_in_time(
    smsc_sim: SmscSimulator, tmp_path: Path
) -> None:
    phone = driver(smsc_sim, tmp_path, give_up=1.0)
    async with Reading(phone) as reading:
        original = phone.link.submit

        async def then_the_link_is_gone(**fields: object) -> object:
            answer = await original(**fields)
            phone.link.bound.clear()  # as a drop does; no rebind comes
            return answer

        phone.link.submit = then_the_link_is_gone  # type: ignore[method-assign]
        await phone.send_sms("12.0", "+33612000012", LONG)
        await until(lambda: reading.of("12.0") == ["Failed"])
        [failed] = [e for e in reading.events if isinstance(e, Failed)]
        assert failed.reason == "the SMSC link was down for 1 s after 1 part(s)"
    assert len(smsc_sim.submits()) == 1


async def test_an_agent_stopped_mid_message_never_completes_it(
    smsc_sim: SmscSimulator, tmp_path: Path
) -> None:
    phone = driver(smsc_sim, tmp_path)
    parts = len(encode_parts(LONG, ref=1))
    phone._sends.take("9.0", "+33612000009", parts, datetime.now(UTC))
    phone._sends.trying("9.0", 0)  # on the wire when the agent stopped
    phone._sends.take("10.0", "+33612000010", parts, datetime.now(UTC))  # nothing went
    await phone.aclose()
    async with Reading(driver(smsc_sim, tmp_path)) as reading:
        await reading.driver.send_sms("9.0", "+33612000009", LONG)  # type: ignore[attr-defined]
        await until(lambda: reading.of("9.0") == ["Failed"])
        await reading.driver.send_sms("10.0", "+33612000010", LONG)  # type: ignore[attr-defined]
        await until(lambda: reading.of("10.0") == ["Sent", "Delivered"])
    # 9.0 is not completed; 10.0, of which nothing had left, is sent afresh.
    assert {s["destination_addr"] for s in smsc_sim.submits()} == {"33612000010"}
    assert len(smsc_sim.submits()) == parts


def mo_part(seq: int, payload: bytes, total: int = 2) -> Deliver:
    udh = bytes((5, 0, 3, 0x42, total, seq))
    return Deliver("33698765432", 1, "SimGate", 0x40, 0, udh + payload, {})


async def test_a_long_incoming_sms_survives_a_restart_between_its_parts(
    smsc_sim: SmscSimulator, tmp_path: Path
) -> None:
    first = driver(smsc_sim, tmp_path)
    await first._on_deliver(mo_part(1, b"Hello "))  # acknowledged: on disk
    await first.aclose()
    second = driver(smsc_sim, tmp_path)
    async with Reading(second) as reading:
        await second._on_deliver(mo_part(2, b"world \x00"))
        await second._on_deliver(mo_part(2, b"world \x00"))  # redelivered part
        await until(lambda: reading.events)
        [sms] = reading.events
        assert isinstance(sms, IncomingSms)
        assert (sms.sender, sms.text) == ("+33698765432", "Hello world @")


async def test_intermediate_and_unmatched_receipts_change_nothing(
    smsc_sim: SmscSimulator, tmp_path: Path
) -> None:
    phone = driver(smsc_sim, tmp_path)
    async with Reading(phone) as reading:
        enroute = b"id:00000099 sub:001 dlvrd:000 submit date:2611271000 stat:ENROUTE err:000"
        await phone._on_deliver(Deliver("33612000001", 1, "SimGate", 0x04, 0, enroute, {}))
        vendor = {"receipted_message_id": "77", "message_state": 2, "vendor_1401": b"\xca\xfe"}
        await phone._on_deliver(Deliver("33612000001", 1, "SimGate", 0x04, 0, b"", vendor))
        await phone.send_sms("11.0", "+33612000777", "no receipt ever")
        await until(lambda: reading.of("11.0") == ["Sent"])
    assert not [e for e in reading.events if isinstance(e, Delivered | Undelivered)]
    assert [e for e in reading.events if isinstance(e, Sent)]


def test_the_command_line_checks_the_link_options() -> None:
    run = ["device", "run", "--token", "sgd_x", "--driver", "smpp"]
    link = ["--smpp-host", "127.0.0.1", "--smpp-system-id", "test"]
    assert "--smpp-host" in CliRunner().invoke(main, run).output
    for bad, says in (
        (["--smpp-window", "0"], "--smpp-window"),
        (["--smpp-window", "1001"], "--smpp-window"),
        (["--smpp-port", "70000"], "--smpp-port"),
        (["--smpp-tps", "0"], "--smpp-tps"),
        (["--smpp-password", "longer-than-8"], "at most 8"),
        (["--smpp-source-addr", "A name far too long"], "--smpp-source-addr"),
        (["--smpp-concat", "udh7"], "--smpp-concat"),
    ):
        result = CliRunner().invoke(main, [*run, *link, *bad])
        assert result.exit_code == 2 and says in result.output, (bad, result.output)
    help_text = CliRunner().invoke(main, ["device", "run", "--help"]).output
    for option in ("--smpp-system-type", "--smpp-source-ton", "--smpp-source-npi",
                   "--smpp-bind", "--smpp-tls", "--smpp-no-tls-verify", "--smpp-dc0",
                   "--smpp-validity", "--smpp-tls-ca-file"):  # fmt: skip
        assert option in help_text


TLV_VALUES = st.one_of(st.integers(0, 0xFFFF), st.binary(max_size=8), st.text(max_size=8))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    short_message=st.one_of(
        st.binary(max_size=60),
        st.builds(lambda b, t: b + t.encode(), st.sampled_from([b"id:", b"stat:", b"\x05\x00\x03"]),
                  st.text(max_size=40)),
    ),
    esm_class=st.sampled_from([0x00, 0x04, 0x08, 0x20, 0x40, 0x44, 0xFF]),
    data_coding=st.sampled_from([0, 1, 3, 4, 8, 0xF0, 0xFF]),
    tlvs=st.dictionaries(
        st.sampled_from(["receipted_message_id", "message_state", "message_payload",
                         "sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum",
                         "network_error_code", "vendor_1401"]),
        TLV_VALUES, max_size=4),
)  # fmt: skip
def test_no_deliver_sm_makes_the_driver_raise(
    short_message: bytes, esm_class: int, data_coding: int, tlvs: dict[str, object]
) -> None:
    """A raise would answer deliver_sm_resp with an error, and the SMSC would
    send the same PDU again, for ever (smpp.md §5)."""

    async def deliver() -> None:
        with tempfile.TemporaryDirectory() as folder:
            link = LinkConfig("127.0.0.1", 9, SYSTEM_ID, PASSWORD)  # never started
            phone = SmppDriver(link, Path(folder), SmppOptions(), fsync=False)
            reader = asyncio.create_task(_drain(phone))
            try:
                pdu = Deliver("33698765432", 1, "SimGate", esm_class, data_coding,
                              short_message, tlvs)  # fmt: skip
                await asyncio.wait_for(phone._on_deliver(pdu), 5)
            finally:
                reader.cancel()
                phone._sends.close()
                phone._incoming.close()

    asyncio.run(deliver())


async def _drain(phone: SmppDriver) -> None:
    async for _ in phone._queue.stream():
        pass
