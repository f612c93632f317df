"""One SMPP 3.4 link to an SMSC, as an ESME, over asyncio (smpp.md §1, §4, §7-§9).

Our own small session with smpplib 2.2.4 used only as the PDU codec
(smpp.md §11 recommendation): `make_pdu(...).generate()` to write,
`parse_pdu(raw, client=..., allow_unknown_opt_params=True)` to read; the
PDUs of every SMS (submit_sm and its resp, deliver_sm and its resp) go
through pdus.py, which writes and reads the same bytes without smpplib's
per-field objects, and hands back to smpplib any shape it does not know. The
`Link` binds (one transceiver, or a transmitter + receiver pair), keeps the
bind alive with enquire_link, reconnects with back-off and jitter, bounds the
outstanding submits (window) and their rate (token bucket, halved on
throttling), and hands every deliver_sm / data_sm to `on_deliver` before it
answers, so that a receipt or an MO is acknowledged only once it is stored.

What a submit's status means is not decided here, except for the throttling
statuses this class retries itself: the caller classifies the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
import ssl
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from smpplib import smpp
from smpplib.command import SubmitSM
from smpplib.exceptions import UnknownCommandError

from simgate.smpp import pdus
from simgate.smpp.pacer import Pacer
from simgate.smpp.pdus import Deliver
from simgate.smpp.status import ESME_RMSGQFUL, ESME_RTHROTTLED, describe

__all__ = ["Deliver", "Link", "LinkConfig", "LinkLost", "SubmitResult"]

log = logging.getLogger(__name__)

ESME_RINVCMDID = 0x03
ESME_RX_T_APPN = 0x64  # "temporary application error": the SMSC delivers again (smpp.md §5)
ESME_RX_P_APPN = 0x65  # permanent: for a PDU we cannot even parse (redelivery would not help)
# Not accepted because the SMSC is busy: pause the whole link and resubmit (smpp.md §8).
THROTTLING = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})
BIND_REFUSED = frozenset({0x0D, 0x0E, 0x0F})  # RBINDFAIL, RINVPASWD, RINVSYSID (smpp.md §9)
MAX_SEQUENCE = 0x7FFFFFFF
MAX_PDU = 1 << 20  # far above any real PDU; a bigger length means the stream is garbage
ENQUIRE_ANSWER_TIMEOUT = 10.0  # smpp.md §7
UNBIND_WAIT = 2.0
DELIVER_GRACE = 2.0  # a deliver_sm handler still journaling when the link drops gets this long
STABLE_BIND = 60.0  # a bind up this long resets the reconnect back-off


@dataclass(frozen=True, slots=True)
class LinkConfig:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    bind: Literal["trx", "tx+rx"] = "trx"  # one bind_transceiver, or a transmitter + receiver pair
    window: int = 10  # outstanding submit_sm
    tps: float | None = None  # submits per second, token bucket in front of the window
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str | None = None  # a provider's private CA (PEM) instead of the system's
    enquire_interval: float = 30.0
    response_timeout: float = 30.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    bind_refused_backoff: float = 300.0  # wrong credentials: providers block IPs that keep trying
    throttle_pause: float = 1.0  # first pause after ESME_RTHROTTLED / RMSGQFUL, doubled each time
    throttle_retries: int = 8  # resubmits of one message before its throttling status is returned

    def __post_init__(self) -> None:
        # smpplib would cut longer values silently and the bind fail for no visible reason
        # (smpp.md §10 item 16).
        for field, limit in (("system_id", 15), ("password", 8), ("system_type", 12)):
            if len(getattr(self, field)) > limit:
                raise ValueError(f"{field} longer than {limit} characters (SMPP 3.4 limit)")
        if self.bind not in ("trx", "tx+rx"):
            raise ValueError(f"bind must be 'trx' or 'tx+rx', not {self.bind!r}")
        if self.window < 1:
            raise ValueError("window must be at least 1")
        if self.tps is not None and not self.tps > 0:
            raise ValueError("tps must be positive (or None for no limit)")


@dataclass(frozen=True, slots=True)
class SubmitResult:
    status: int  # 0 accepted
    message_id: str | None


class LinkLost(Exception):
    """The link dropped (or the response timed out) before the SMSC answered:
    outcome unknown (smpp.md §4)."""


class _BindRefused(Exception):
    def __init__(self, command: str, status: int) -> None:
        super().__init__(f"{command} refused: {describe(status)}")
        self.status = status


class Sequence:
    """Sequence numbers 1..0x7FFFFFFF, wrapping to 1 (smpp.md §1); the object
    smpplib asks for them (`next_sequence`, `sequence`)."""

    def __init__(self, start: int = 0) -> None:
        self.sequence = start

    def next_sequence(self) -> int:
        self.sequence = self.sequence + 1 if self.sequence < MAX_SEQUENCE else 1
        return self.sequence


@dataclass(frozen=True, slots=True)
class _SubmitAnswer:
    """A submit_sm_resp read by pdus.py: what Link.submit takes from smpplib's."""

    message_id: bytes


def deliver_from(pdu: Any, connection: str = "") -> Deliver:
    """The fields of a parsed deliver_sm / data_sm (smpplib gives C-strings as bytes)."""
    tlvs: dict[str, Any] = {}
    for name in pdu.params_order:
        value = getattr(pdu, name, None)
        if value is None or not pdu.field_is_optional(name):
            continue
        kind = pdu.params[name].type
        tlvs[name] = value.decode("latin-1") if kind is str and isinstance(value, bytes) else value
    return Deliver(
        source_addr=_text(pdu.source_addr),
        source_addr_ton=pdu.source_addr_ton or 0,
        destination_addr=_text(pdu.destination_addr),
        esm_class=pdu.esm_class or 0,
        data_coding=pdu.data_coding or 0,
        short_message=bytes(getattr(pdu, "short_message", None) or b""),
        tlvs=tlvs,
        connection=connection,
    )


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else value


# Responses whose body is an empty message_id, written by pdus.response.
_EMPTY_RESPONSES = {"deliver_sm_resp": pdus.DELIVER_SM_RESP, "data_sm_resp": 0x80000103}

# What names a connection (Deliver.connection): this process, then a count.
_PROCESS = secrets.token_hex(4)
_connections = itertools.count(1)


class _Connection:
    """One TCP connection and its bind: the read loop, the pending responses
    by sequence number, the enquire_link timer."""

    def __init__(
        self,
        link: Link,
        name: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.link, self.name = link, name
        self.identity = f"{_PROCESS}-{next(_connections)}"
        self.reader, self.writer = reader, writer
        self._outgoing: list[bytes] = []  # PDUs written in this turn of the loop
        self.sequence = Sequence()
        self.pending: dict[int, asyncio.Future[tuple[int, Any]]] = {}
        self.closed = asyncio.Event()
        self.last_received = time.monotonic()
        self.handlers: set[asyncio.Task[None]] = set()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self._read_loop(), name=f"smpp-{self.name}-read"))

    def keep_alive(self) -> None:
        """Start the enquire_link timer; only once bound (smpp.md §7)."""
        self.tasks.append(asyncio.create_task(self._keepalive(), name=f"smpp-{self.name}-enquire"))

    async def request(self, command: str, timeout: float, **fields: Any) -> tuple[int, Any]:
        """Send a request; its response's (status, parsed PDU or None)."""
        if self.closed.is_set():
            raise LinkLost(f"{self.name} link is down")
        data, sequence = self._encode(command, fields)  # a bad field raises here
        future: asyncio.Future[tuple[int, Any]] = asyncio.get_running_loop().create_future()
        self.pending[sequence] = future
        try:
            self._write(data)
            await self.writer.drain()
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self.lose(f"no {command}_resp within {timeout:g} s")
            raise LinkLost(f"no {command}_resp within {timeout:g} s") from None
        except OSError as error:
            self.lose(f"write failed: {error}")
            raise LinkLost(str(error)) from error
        finally:
            self.pending.pop(sequence, None)

    def _encode(self, command: str, fields: dict[str, Any]) -> tuple[bytes, int]:
        """A request's bytes and sequence number: by pdus.py when it can."""
        if command == "submit_sm":
            sequence = self.sequence.next_sequence()
            data = pdus.submit_sm(sequence, fields)
            if data is not None:
                return data, sequence
        pdu = smpp.make_pdu(command, client=self.sequence, **fields)
        return pdu.generate(), pdu.sequence

    def respond(self, command: str, sequence: int, status: int = 0) -> None:
        if self.closed.is_set():
            return
        if command in _EMPTY_RESPONSES:
            self._write(pdus.response(_EMPTY_RESPONSES[command], sequence, status))
            return
        pdu = smpp.make_pdu(command, client=self.sequence, status=status)
        pdu.sequence = sequence  # smpplib ignores a `sequence=` keyword once its client has one
        self._write(pdu.generate())

    def _write(self, data: bytes) -> None:
        """Send `data` with the other PDUs written in this turn of the loop: a
        window's submits (or a group's deliver_sm_resp) freed by one fsync
        leave in one send() instead of one each."""
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(data)

    def _flush(self) -> None:
        data, self._outgoing = b"".join(self._outgoing), []
        if not self.closed.is_set():
            self.writer.write(data)

    def lose(self, reason: str) -> None:
        """The connection is gone: fail what waits for an answer, close the socket."""
        if self.closed.is_set():
            return
        self.closed.set()
        if self.link._transmitter is self:
            self.link.bound.clear()  # no submit may pick this connection any more
        log.info("SMPP %s link to %s lost: %s", self.name, self.link.address, reason)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(LinkLost(reason))
        self.pending.clear()
        if self._outgoing:  # an unbind_resp answering the SMSC's unbind, say
            self.writer.write(b"".join(self._outgoing))
            self._outgoing = []
        self.writer.close()

    async def close(self) -> None:
        self.lose("closed")
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        if self.handlers:
            await asyncio.wait(self.handlers, timeout=DELIVER_GRACE)
        for task in [*self.tasks, *self.handlers]:
            if task is not current:
                task.cancel()
        await asyncio.gather(*[t for t in self.tasks if t is not current], return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    async def _read_loop(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(16)
                length, command_id, status, sequence = struct.unpack(">LLLL", header)
                if not 16 <= length <= MAX_PDU:
                    self.lose(f"bad command_length {length}")
                    return
                raw = header + await self.reader.readexactly(length - 16)
                self.last_received = time.monotonic()
                self._dispatch(raw, command_id, status, sequence)
        except (asyncio.IncompleteReadError, OSError) as error:
            self.lose(f"connection closed ({type(error).__name__})")

    def _dispatch(self, raw: bytes, command_id: int, status: int, sequence: int) -> None:
        # The PDUs of every SMS first, read by pdus.py (None: left to smpplib).
        if command_id == pdus.SUBMIT_SM_RESP:
            message_id = pdus.submit_sm_resp_id(raw[16:])
            if message_id is not None:
                self._answered(sequence, status, _SubmitAnswer(message_id))
                return
        elif command_id == pdus.DELIVER_SM:
            deliver = pdus.deliver_sm(raw[16:], self.identity)
            if deliver is not None:
                self._handle(deliver, None, "deliver_sm", sequence)
                return
        try:
            pdu: Any = smpp.parse_pdu(raw, client=self.sequence, allow_unknown_opt_params=True)
        except UnknownCommandError:
            pdu = None  # a command smpplib does not know (or cannot parse)
        except Exception:  # a body smpplib cannot parse
            log.warning("SMPP %s: cannot parse PDU %s", self.name, raw.hex())
            pdu = None
        if command_id & 0x80000000:  # a response, generic_nack included
            self._answered(sequence, status, pdu)
            return
        command = getattr(pdu, "command", None)
        if command == "enquire_link":
            self.respond("enquire_link_resp", sequence)
        elif command == "unbind":
            log.info("SMPP %s: the SMSC unbinds", self.name)
            self.respond("unbind_resp", sequence)
            self.lose("unbound by the SMSC")
        elif command in ("deliver_sm", "data_sm"):
            self._handle(None, pdu, command, sequence)
        elif command_id in (0x05, 0x103):  # deliver_sm / data_sm smpplib could not parse
            log.error("SMPP %s: unreadable %s refused for good", self.name, raw.hex())
            self.respond(
                "deliver_sm_resp" if command_id == 0x05 else "data_sm_resp",
                sequence,
                ESME_RX_P_APPN,
            )
        elif command != "alert_notification":  # alert_notification has no response
            self.respond("generic_nack", sequence, ESME_RINVCMDID)

    def _answered(self, sequence: int, status: int, pdu: Any) -> None:
        future = self.pending.get(sequence)
        if future is not None and not future.done():
            future.set_result((status, pdu))

    def _handle(self, deliver: Deliver | None, pdu: Any, command: str, sequence: int) -> None:
        """Hand a deliver_sm / data_sm (read by pdus.py, or else smpplib's
        `pdu`) to on_deliver, then answer it."""
        task = asyncio.create_task(self._deliver(deliver, pdu, command, sequence))
        self.handlers.add(task)
        task.add_done_callback(self.handlers.discard)

    async def _deliver(
        self, deliver: Deliver | None, pdu: Any, command: str, sequence: int
    ) -> None:
        status = 0
        try:
            if deliver is None:
                deliver = deliver_from(pdu, self.identity)
            await self.link.on_deliver(deliver)
        except Exception:
            # Not stored: ask the SMSC to deliver it again later, never generic_nack (smpp.md §5).
            log.exception(
                "SMPP %s: handling a %s failed; asking for redelivery", self.name, command
            )
            status = ESME_RX_T_APPN
        self.respond(f"{command}_resp", sequence, status)

    async def _keepalive(self) -> None:
        interval = self.link.config.enquire_interval
        while not self.closed.is_set():
            idle = time.monotonic() - self.last_received
            if idle < interval:
                await asyncio.sleep(interval - idle)
                continue
            try:
                await self.request("enquire_link", ENQUIRE_ANSWER_TIMEOUT)
            except LinkLost:
                return
            self.last_received = time.monotonic()


class Link:
    """An SMPP link to one SMSC account (see the module docstring)."""

    def __init__(
        self, config: LinkConfig, on_deliver: Callable[[Deliver], Awaitable[None]]
    ) -> None:
        self.config = config
        self.on_deliver = on_deliver
        self.address = f"{config.host}:{config.port}"
        self.bound = asyncio.Event()  # set while a bind that can transmit is up
        self._transmitter: _Connection | None = None
        self._window = asyncio.Semaphore(config.window)
        self._pacer = Pacer(config.tps, config.throttle_pause)

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, bind, keep alive, reconnect with back-off and jitter until
        `stop` is set; then unbind and close."""
        delay = self.config.reconnect_min
        while not stop.is_set():
            wait = delay
            try:
                bound_for = await self._session(stop)
                # A bind that held starts the back-off again; one the SMSC drops at once does not.
                delay = self.config.reconnect_min if bound_for >= STABLE_BIND else delay
                wait = delay
                delay = min(delay * 2, self.config.reconnect_max)
            except _BindRefused as refused:
                wait = self.config.bind_refused_backoff
                log.error(
                    "SMPP bind to %s as %r %s: check system_id and password; next try in %g s",
                    self.address,
                    self.config.system_id,
                    refused,
                    wait,
                )
            except (OSError, LinkLost) as error:
                log.warning(
                    "SMPP link to %s failed: %s", self.address, error or type(error).__name__
                )
                delay = min(delay * 2, self.config.reconnect_max)
            if stop.is_set():
                break
            pause = wait * random.uniform(0.5, 1.0)
            log.info("SMPP link to %s: reconnecting in %.1f s", self.address, pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def submit(self, **submit_sm_fields: Any) -> SubmitResult:
        """Submit one submit_sm (strings as str, short_message/message_payload as
        bytes) once bound, within the rate and the window. Throttling statuses
        are resubmitted up to `throttle_retries` times, then returned. Raises
        LinkLost if the link drops or the answer does not come after sending
        (the SMSC may have it: never resubmitted here). A link that drops
        before sending is waited out: the submit goes on the next bind.
        Cancelling a submit once it is on the wire leaves its outcome unknown too."""
        unknown = set(submit_sm_fields) - set(SubmitSM.params)
        if unknown:
            raise TypeError(f"not submit_sm fields: {sorted(unknown)}")
        attempt = 0
        while True:
            status, pdu = await self._submit_once(submit_sm_fields)
            if status in THROTTLING and attempt < self.config.throttle_retries:
                attempt += 1
                log.info("SMPP %s: %s, pausing the submits", self.address, describe(status))
                self._pacer.throttled()
                continue
            if status == 0:
                self._pacer.accepted()
            message_id = _text(getattr(pdu, "message_id", None)) if status == 0 else ""
            return SubmitResult(status, message_id or None)

    async def _submit_once(self, fields: dict[str, Any]) -> tuple[int, Any]:
        while True:
            await self.bound.wait()
            await self._pacer.wait()
            async with self._window:
                connection = self._transmitter
                if connection is not None and not connection.closed.is_set():
                    return await connection.request(
                        "submit_sm", self.config.response_timeout, **fields
                    )
            await asyncio.sleep(0.01)  # between two binds: wait for the next one

    async def _session(self, stop: asyncio.Event) -> float:
        """One connected life: bind, serve until the link drops or `stop`; how
        long it was bound."""
        connections: list[_Connection] = []
        try:
            binding = asyncio.create_task(self._connect_and_bind(connections))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([binding, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not binding.done():  # stopped while connecting or binding: nothing to unbind
                binding.cancel()
                with contextlib.suppress(asyncio.CancelledError, LinkLost, OSError, _BindRefused):
                    await binding
                return 0.0
            binding.result()  # raises why it failed
            self.bound.set()
            bound_at = time.monotonic()
            waits = [asyncio.create_task(c.closed.wait()) for c in connections]
            waits.append(asyncio.create_task(stop.wait()))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
            self.bound.clear()
            if stop.is_set():
                await asyncio.gather(*(self._unbind(c) for c in connections))
            return time.monotonic() - bound_at
        finally:
            self.bound.clear()
            self._transmitter = None
            for connection in connections:
                await connection.close()

    async def _connect_and_bind(self, connections: list[_Connection]) -> None:
        """Open and bind the connection(s) of `config.bind`, adding each to
        `connections` as soon as it is open (so that the caller closes it)."""
        commands = (
            {"trx": "bind_transceiver"}
            if self.config.bind == "trx"
            else {"tx": "bind_transmitter", "rx": "bind_receiver"}
        )
        for name, command in commands.items():
            connection = await self._connect(name)
            connections.append(connection)
            await self._bind(connection, command)
            connection.keep_alive()
            if name != "rx":
                self._transmitter = connection

    async def _connect(self, name: str) -> _Connection:
        context: ssl.SSLContext | None = None
        if self.config.tls:
            context = ssl.create_default_context(cafile=self.config.tls_ca_file)
            if not self.config.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        log.info("SMPP %s: connecting to %s", name, self.address)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.config.host, self.config.port, ssl=context),
                self.config.response_timeout,
            )
        except TimeoutError:
            raise LinkLost(f"no connection within {self.config.response_timeout:g} s") from None
        connection = _Connection(self, name, reader, writer)
        connection.start()
        return connection

    async def _bind(self, connection: _Connection, command: str) -> None:
        status, pdu = await connection.request(
            command,
            self.config.response_timeout,
            system_id=self.config.system_id,
            password=self.config.password,
            system_type=self.config.system_type,
        )
        if status in BIND_REFUSED:
            raise _BindRefused(command, status)
        if status != 0:
            raise LinkLost(f"{command} refused: {describe(status)}")
        version = getattr(pdu, "sc_interface_version", None)
        log.info(
            "SMPP %s bound to %s as %r (SMSC %r, interface version %s)",
            connection.name,
            self.address,
            self.config.system_id,
            _text(getattr(pdu, "system_id", None)),
            "absent" if version is None else hex(version),
        )

    async def _unbind(self, connection: _Connection) -> None:
        with contextlib.suppress(LinkLost):
            await connection.request("unbind", UNBIND_WAIT)
            log.info("SMPP %s unbound from %s", connection.name, self.address)
