"""The `smpp` driver: one bind to an operator's or aggregator's SMSC (smpp.md).

The link itself (bind, window, TPS, enquire_link, reconnect) is
simgate.smpp.session's; the text rules (encoding, splitting, receipts, status
classes) are simgate.smpp's pure modules. This driver ties them to the agent:

Sending (`send_sms`). The text is encoded and split once (concatenation ref
per message, smpp.md §3); every part is submitted with registered_delivery=1,
one after the other. The ledger (sends.py) gets `try` before a part goes on the
wire and `ok` with its message_id once the SMSC accepts it, so that:

- a part is never submitted twice: a command the ledger knows is only
  followed, after a restart as within a run;
- throttling is retried by the link; other temporary refusals (queue full,
  system error, smpp.md §8) a few times here with back-off; a permanent one
  refuses the part. Refused before anything went out: `NotSent` (the server
  may give the message to another sender); after: `Failed` with the reason,
  the remaining parts are not submitted;
- **a part with no answer** (the link dropped or timed out after sending it,
  `LinkLost`, or the agent stopped with it on the wire) is ambiguous: the SMSC
  may well hold it (smpp.md §4). It is recorded `lost` and never resubmitted;
  the other parts go on after the rebind, and the message is reported `sent`
  once every part is accepted or ambiguous. Why not `failed`: a failed result
  makes the server send the message again, a duplicate on the handset
  whenever the SMSC had it, which is the common case (the resp, not the
  submit, is what the drop loses). Why not silence: the server would fail it
  after its result timeout anyway, later and for the same duplicate risk. The
  cost: without its message_id the part's receipt cannot be matched, so such a
  message is never reported delivered (it stays `sent`) unless another part's
  receipt reports it failed;
- no more parts than the link's window carry the `try` mark at once (the
  driver's own gate in front of the link's window), so that parts still
  queued in the agent are never mistaken for parts the SMSC may hold;
- after a restart, a command none of whose parts got the `try` mark is sent
  as new (nothing of it can have left); one whose parts were not all
  submitted is not completed (a message missing its middle part is worse than
  a retry): it is `Failed`, naming the parts that went out.

Receipts (deliver_sm parsed by receipts.parse_receipt) are matched to parts by
every form of their message_id (id_keys); one that comes before its
submit_sm_resp is recorded is kept and matched when it is (sends.py).
Intermediate ones (ACCEPTD, ENROUTE) are ignored. The message is delivered
when every part is; undelivered (with the SMSC's stat and err) as soon as a
part ends failed. EXPIRED is undelivered too, its reason starting with
`EXPIRED`: the device protocol's delivery report knows only delivered and
undelivered (docs/device-protocol.md), and the server's own `expired` state
means "never handed to a device in time". The time of a receipt is when it
arrived: its done date is in the SMSC's local time, zone unknown.

Incoming SMS (deliver_sm of type 0) are decoded, long ones reassembled, and
reported under a ref stable per SMSC message (incoming.py).

Durability: `on_deliver` returns (and the link answers deliver_sm_resp) only
once what the deliver_sm taught is on disk: a receipt in the ledger (the
delivery report follows from it after a restart), an incoming SMS in the
agent's journal (the driver waits for the agent to take it), a part of a long
SMS in the incoming ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from simgate.device.drivers import (
    LAPSED,
    Capabilities,
    DriverEvent,
    Failed,
    IncomingSms,
    NotSent,
    lapsed,
)
from simgate.device.drivers._events import EventQueue
from simgate.device.drivers.smpp.incoming import IncomingBook, StoredPart, digest, sender_of
from simgate.device.drivers.smpp.sends import Outcome, PartReceipt, Send, SendBook
from simgate.smpp import addresses, receipts, status, times
from simgate.smpp import text as coding
from simgate.smpp.mo import Reassembly
from simgate.smpp.session import Deliver, Link, LinkConfig, LinkLost

log = logging.getLogger(__name__)

Concat = Literal["udh8", "udh16", "sar", "payload"]
Dc0 = Literal["gsm7", "latin1", "ascii"]
ValidityMode = Literal["absolute", "relative", "none"]

TEMPORARY_RETRIES = 3  # a temporary refusal (not throttling) is tried again this often
TEMPORARY_BACKOFF = 1.0  # seconds, doubling
MO_KEEP = 600.0  # seconds the parts of a long incoming SMS wait for the rest (smpp.md §6)
RECEIPT_TYPE = 0x04
MESSAGE_TYPE_MASK = 0x3C  # esm_class bits 5-2 (smpp.md §2)


@dataclass(frozen=True, slots=True)
class SmppOptions:
    """What the driver does with the link (the link's own settings: LinkConfig)."""

    source_addr: str | None = None  # None: empty, the SMSC's choice
    source_ton: int | None = None  # None: what addresses.source infers
    source_npi: int | None = None
    concat: Concat = "udh8"
    dc0: Dc0 = "gsm7"
    validity: ValidityMode = "absolute"
    give_up: float = 300.0  # seconds a message waits for a bound link (before a part)


class SmppDriver:
    name = "smpp"
    capabilities = Capabilities(
        delivery_reports=True, incoming_sms=True, call_events=False, dial=False
    )

    def __init__(
        self, link: LinkConfig, folder: Path, options: SmppOptions | None = None, fsync: bool = True
    ) -> None:
        self.options = options or SmppOptions()
        self.link = Link(link, self._on_deliver)
        self._sends = SendBook(folder, receipts.id_keys, receipts.match_rank, fsync=fsync)
        self._incoming = IncomingBook(folder, fsync=fsync)
        self._reassembly = Reassembly(keep=int(MO_KEEP))
        for part in self._incoming.parts:  # acknowledged before the last run stopped
            key = (part.source, part.destination)
            self._reassembly.add(key, _concatenation(part), part.payload, part.at)
        self._queue = EventQueue()
        self._active: set[str] = set()  # command ids being submitted now
        # Parts marked `try` are those the link may have put on the wire: no
        # more than its window, so that a part still queued when the agent
        # dies is never taken for one the SMSC may hold (it would be reported
        # sent, and never sent). The price: a part's mark is fsynced while it
        # holds its slot; marking a window ahead was about a quarter faster
        # (README, bench/smpp.py). Beyond the bound: a part pausing inside the
        # link for --smpp-tps or after throttling.
        self._gate = asyncio.Semaphore(link.window)
        self._ref = secrets.randbelow(0x10000)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        if self.options.source_addr:
            self._source = addresses.source(
                self.options.source_addr, ton=self.options.source_ton, npi=self.options.source_npi
            )
        else:
            self._source = addresses.Address(
                self.options.source_ton or 0, self.options.source_npi or 0, ""
            )

    # --- the Driver protocol ----------------------------------------------------

    async def send_sms(
        self,
        command_id: str,
        to: str,
        text: str,
        sim_slot: int | None = None,
        *,
        valid_until: datetime | None = None,
    ) -> None:
        self._start()
        if command_id in self._active:
            return  # being submitted now
        known = self._sends.get(command_id)
        if known is not None and not known.untouched():
            await self._follow(known)
            return
        if lapsed(valid_until):
            raise NotSent(LAPSED)
        if sim_slot not in (None, 1):
            raise NotSent(f"an SMPP link has one sender; SIM {sim_slot} was asked")
        try:
            destination = addresses.destination(to)
        except ValueError as exc:
            raise NotSent(f"the SMSC cannot take this number: {exc}") from None
        try:
            parts = text_parts(text, self.options, self._next_ref())
        except ValueError as exc:
            raise NotSent(f"this text cannot be sent as SMS: {exc}") from None
        self._active.add(command_id)
        try:
            await self._wait_for_link(valid_until)
            send = self._sends.take(command_id, to, len(parts), _now())
            for n, part in enumerate(parts):
                if send.refusal is not None:
                    break
                if n and not self.link.bound.is_set():
                    try:  # the link dropped between two parts
                        await self._wait_for_link(None)
                    except NotSent as down:
                        self._sends.end(command_id, f"{down.reason} after {n} part(s)", _now())
                        break
                fields = self._fields(destination, part, valid_until)
                await self._submit(send, n, fields)
            await self._settle(send)
        finally:
            self._active.discard(command_id)

    async def dial(self, command_id: str, to: str) -> None:
        log.warning("dial command %s ignored: an SMPP link cannot place calls", command_id)

    async def events(self) -> AsyncIterator[DriverEvent]:
        self._start()
        async for event in self._queue.stream():
            yield event

    async def event_groups(self) -> AsyncIterator[list[DriverEvent]]:
        """What `events` yields, in groups (drivers.GroupsEvents): a window's
        results and receipts are journaled by the agent with one fsync."""
        self._start()
        async for group in self._queue.groups():
            yield group

    async def aclose(self) -> None:
        """Unbind (the link's `run` does it on stop) and close the ledgers."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 10)
        with contextlib.suppress(OSError):
            await self._sends.durable()
        self._sends.close()
        self._incoming.close()

    # --- sending ----------------------------------------------------------------

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run_link())

    async def _run_link(self) -> None:
        try:
            await self.link.run(self._stop)
        except Exception:
            log.exception("smpp link stopped")

    def _next_ref(self) -> int:
        """A concatenation reference per message, in the range its form allows."""
        self._ref = (self._ref + 1) % 0x10000
        return self._ref % 0x100 if self.options.concat == "udh8" else self._ref

    async def _wait_for_link(self, valid_until: datetime | None) -> None:
        """Wait for a bound link: NotSent when the message lapses first, or
        when the link stays down `give_up` seconds (nothing was submitted)."""
        waited = 0.0
        while not self.link.bound.is_set():
            if lapsed(valid_until):
                raise NotSent(LAPSED)
            if waited >= self.options.give_up:
                raise NotSent(f"the SMSC link was down for {self.options.give_up:.0f} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.link.bound.wait(), 1.0)
            waited += 1.0

    def _fields(
        self, destination: addresses.Address, part: coding.Part, valid_until: datetime | None
    ) -> dict[str, Any]:
        validity = times.validity_period(
            valid_until, datetime.now(UTC).replace(tzinfo=None), mode=self.options.validity
        )
        return {
            "source_addr_ton": self._source.ton,
            "source_addr_npi": self._source.npi,
            "source_addr": self._source.addr,
            "dest_addr_ton": destination.ton,
            "dest_addr_npi": destination.npi,
            "destination_addr": destination.addr,
            "esm_class": part.esm_class,
            "data_coding": part.data_coding,
            "short_message": part.short_message,
            "registered_delivery": 1,
            "validity_period": validity,
            **part.tlvs,
        }

    async def _submit(self, send: Send, n: int, fields: dict[str, Any]) -> None:
        """Submit part n once: accepted, refused, or lost (never again)."""
        command_id = send.command_id
        for attempt in range(TEMPORARY_RETRIES + 1):
            try:
                async with self._gate:  # see __init__
                    await self.link.bound.wait()
                    self._sends.trying(command_id, n)
                    await self._sends.durable()  # before the part can leave
                    answer = await self.link.submit(**fields)
            except LinkLost as exc:
                log.warning(
                    "SMS %s part %d: no answer from the SMSC (%s); it may have it, so it is "
                    "not submitted again",
                    command_id,
                    n + 1,
                    exc,
                )
                self._sends.lost(command_id, n, _now())
                return
            kind = status.classify(answer.status)
            if kind == "ok":
                self._sends.accepted(command_id, n, answer.message_id or "", _now())
                return
            if kind != "permanent" and attempt < TEMPORARY_RETRIES:
                log.info("SMS %s: %s; trying again", command_id, status.describe(answer.status))
                self._sends.not_taken(command_id, n)
                await asyncio.sleep(TEMPORARY_BACKOFF * 2**attempt)
                continue
            self._sends.refused(command_id, n, _refusal(send, n, answer.status), _now())
            return

    async def _settle(self, send: Send) -> None:
        """Report what a finished (or followed) send is, and its delivery if known."""
        result = send.result()
        if result is None:
            return
        await self._sends.durable()
        if isinstance(result, Failed) and send.certainly_not_sent():
            raise NotSent(result.reason)
        self._queue.put(result)
        delivery = send.delivery()
        if delivery is not None:
            self._queue.put(delivery)

    async def _follow(self, send: Send) -> None:
        """Asked about a command taken before (after a restart): report, never submit."""
        if send.result() is None:
            out, total = send.out(), len(send.parts)
            if out == 0:
                reason = "the agent stopped before it was sent"
            else:
                reason = f"the agent stopped after {out} of {total} parts went out"
            self._sends.end(send.command_id, reason, _now())
        await self._settle(send)

    # --- what the SMSC sends us ------------------------------------------------------

    async def _on_deliver(self, deliver: Deliver) -> None:
        """A deliver_sm: settled on disk before this returns (deliver_sm_resp follows)."""
        receipt = receipts.parse_receipt(deliver.short_message, deliver.tlvs, deliver.esm_class)
        if receipt is not None:
            await self._on_receipt(receipt)
        elif deliver.esm_class & MESSAGE_TYPE_MASK == 0:
            await self._on_mo(deliver)
        else:
            log.info("deliver_sm with esm_class 0x%02X ignored", deliver.esm_class)

    async def _on_receipt(self, receipt: receipts.Receipt) -> None:
        if not receipt.final or receipt.outcome is None:
            return  # ACCEPTD, ENROUTE: the message is on its way, as `sent` says
        if not receipt.message_id:
            log.warning("a receipt (%s) names no message id: it matches nothing", receipt.stat)
            return
        now = _now()
        outcome = cast(Outcome, receipt.outcome)
        final = PartReceipt(outcome, receipt.stat or "UNKNOWN", receipt.error, now)
        self._sends.prune(now)
        found = self._sends.match(receipt.message_id)
        if found is None:
            self._sends.keep_orphan(receipt.message_id, final, now)
            await self._sends.durable()
            return
        send, n, rank = found
        if send.parts[n].receipt is not None:
            return  # a repeat
        before = send.delivery()
        self._sends.receipt(send.command_id, n, final, rank)
        after = send.delivery()
        await self._sends.durable()  # before deliver_sm_resp
        if before is None and after is not None:
            self._queue.put(after)

    async def _on_mo(self, deliver: Deliver) -> None:
        concat, payload = coding.split_udh(deliver.short_message, deliver.esm_class)
        payload, concat = _tlv_forms(deliver.tlvs, payload, concat)
        source = sender_of(deliver.source_addr, deliver.source_addr_ton)
        now = time.time()  # wall time: parts kept on disk are read back by the next run
        for partial in self._reassembly.expire(now):
            log.warning(
                "an incoming long SMS still missed parts after %.0f s; %d octets dropped",
                MO_KEEP,
                len(partial),
            )
        if concat is None or concat.total <= 1:
            sms_text = coding.decode(payload, deliver.data_coding, dc0=self.options.dc0)
            ref = digest(source, deliver.destination_addr, deliver.data_coding, payload)
            await self._report_mo(source, sms_text, ref, deliver.connection)
            return
        key = f"{source}>{deliver.destination_addr}"
        stored = StoredPart(
            key,
            concat.ref,
            concat.total,
            concat.seq,
            payload,
            deliver.data_coding,
            source,
            deliver.source_addr_ton,
            deliver.destination_addr,
            now,
        )
        self._incoming.keep_part(stored)
        whole = self._reassembly.add((source, deliver.destination_addr), concat, payload, now)
        if whole is None:
            return
        sms_text = coding.decode(whole, deliver.data_coding, dc0=self.options.dc0)
        label = f"{concat.ref}/{concat.total}"
        ref = digest(source, deliver.destination_addr, deliver.data_coding, whole, label)
        await self._report_mo(source, sms_text, ref, deliver.connection)
        self._incoming.done(key, concat.ref)

    async def _report_mo(
        self, sender: str, sms_text: str, sms_digest: str, connection: str
    ) -> None:
        """Hand the SMS to the agent and wait until it has journaled it."""
        now = _now()
        ref = self._incoming.ref_for(sms_digest, now, connection)
        taken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def journaled() -> None:
            if not taken.done():
                taken.set_result(None)

        self._queue.put(IncomingSms(sender, sms_text, now, ref=ref), journaled)
        await taken
        self._incoming.seen(ref, now, connection)


def text_parts(message: str, options: SmppOptions, ref: int) -> list[coding.Part]:
    """The submit_sm parts of one message, by the link's concatenation and dc 0 settings."""
    parts: list[coding.Part] = coding.encode_parts(
        message, concat=options.concat, ref=ref, dc0=options.dc0
    )
    return parts


def _refusal(send: Send, n: int, code: int) -> str:
    why = status.describe(code)
    total = len(send.parts)
    if total <= 1:
        return f"the SMSC refused it: {why}"
    return f"the SMSC refused part {n + 1} of {total} ({why}); {send.out()} part(s) went out"


def _tlv_forms(
    tlvs: dict[str, Any], payload: bytes, concat: coding.Concatenation | None
) -> tuple[bytes, coding.Concatenation | None]:
    """An incoming SMS whose text or concatenation came in TLVs (smpp.md §6)."""
    if not payload and isinstance(tlvs.get("message_payload"), bytes | bytearray):
        payload = bytes(tlvs["message_payload"])
    if concat is None:
        concat = coding.sar_concatenation(tlvs)
    return payload, concat


def _concatenation(part: StoredPart) -> coding.Concatenation:
    return coding.Concatenation(part.ref, part.total, part.seq)


def _now() -> datetime:
    return datetime.now(UTC)
