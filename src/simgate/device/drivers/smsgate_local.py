"""The `smsgate-local` driver: the SMS Gateway for Android app in Local Server
mode, driven over the LAN through the REST API the app serves on the phone
(reference/smsgate-local-api.md, "§" below).

- Sending: `POST /message` with our own message id (§3). The app answers 409 to
  an id it already holds, so asking again after a timeout, a lost answer or an
  agent restart never makes a second SMS. The id carries a random namespace
  kept in the state folder, so a phone that served another simgate before
  cannot mistake our `1042.0` for its own old one. Once the phone holds a
  message we write that down (`smsgate-local.sends`): after a restart such a
  message is only followed, never posted again, even if the app has since
  purged it from its log.
- States: polled with `GET /message/{id}` (§4). The app's webhooks would push
  them, but it posts only to `https://` or `http://127.0.0.1` (§6.1), and an
  agent on the LAN has neither a certificate the phone trusts nor the phone's
  loopback; polling needs nothing from the user. Pending and Processed say
  nothing; Sent is `sent`; Delivered is a delivery report; Failed before Sent
  is a failed send, after Sent an undelivered one (§4, the delivery report's
  TP-Status ≥ 0x40). Snapshots may repeat or come late: a state is reported
  once, and nothing goes back.
- Incoming SMS: `GET /inbox?type=SMS` (§8) read with a cursor (the newest time
  seen, read again a day back for late arrivals, and the ids already
  reported), saved once the agent has journaled each SMS (`_events.py`).
- SIM slots: `simNumber` is 1-based like the agent's `sim_slot` (§5).
- The phone going away: every request has a timeout; a connection refused
  means the request never left, anything else may have reached the phone, so
  the next attempt asks `GET /message/{id}` before posting again. A send waits
  for an unreachable phone at most `give_up` seconds (under the server's
  result timeout), then fails if it certainly never reached the phone.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from simgate.device.drivers import (
    LAPSED,
    Capabilities,
    DriverEvent,
    Failed,
    IncomingSms,
    NotSent,
    Sent,
    lapsed,
)
from simgate.device.drivers._events import EventQueue
from simgate.device.drivers._state import JsonState, Ledger, remember
from simgate.device.drivers.smsgate_api import message_of, phone_time, query_time, read_progress
from simgate.domain.dates import iso_z

log = logging.getLogger(__name__)

INBOX_PAGE = 100  # the app allows 1..500 (§8)
INBOX_MAX_PAGES = 20
MAX_FOLLOW = timedelta(days=3)  # Android may never report delivery (§4): stop asking then


@dataclass(frozen=True, slots=True)
class PhoneApi:
    """Where the phone is and how the driver paces itself."""

    url: str
    user: str = "sms"
    password: str = ""
    sim: int | None = None  # 1-based SIM for every SMS; None: the app's own choice (§5)
    poll: float = 2.0  # seconds between looks at a message on its way
    inbox_poll: float = 5.0
    give_up: float = 300.0  # seconds a send waits for an unreachable phone
    timeout: float = 10.0  # per request
    inbox_lookback: float = 86_400.0  # seconds of inbox read again, for SMS stored late


# --- the driver -----------------------------------------------------------------


class Backoff:
    """Waits between attempts at an unreachable phone: 0.5 s doubling to 15 s."""

    def __init__(self, first: float = 0.5, cap: float = 15.0) -> None:
        self.first, self.cap, self.delay = first, cap, first

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, self.cap)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.delay = self.first


class Outcome(Enum):
    HELD = "held"  # the phone has it
    REFUSED = "refused"  # the phone certainly does not have it, and will not
    RETRY = "retry"  # try again later


@dataclass
class Outgoing:
    command_id: str
    phone_id: str
    body: dict[str, Any]
    deadline: float  # loop time after which an unreachable phone fails the send
    uncertain: bool = False  # an earlier attempt may have reached the phone
    refusal: str = ""


@dataclass
class Followed:
    command_id: str
    phone_id: str
    since: datetime
    reported_sent: bool = False
    next_poll: float = 0.0


@dataclass
class SmsGateLocal:
    api: PhoneApi
    folder: Path
    name: str = field(default="smsgate-local", init=False)

    def __post_init__(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.api.url.rstrip("/"),
            auth=httpx.BasicAuth(self.api.user, self.api.password),
            timeout=self.api.timeout,
            headers={"User-Agent": "simgate-agent"},
        )
        self._queue = EventQueue()
        self._outgoing: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._followed: dict[str, Followed] = {}
        self._taken: set[str] = set()  # command ids in the outgoing queue or followed
        self._sim_count = 1
        self._phone_down = False
        self._cursor = JsonState(self.folder / "smsgate-local.json")
        saved = self._cursor.load()
        self._namespace = str(saved.get("namespace") or secrets.token_hex(3))
        inbox = saved.get("inbox") or {}
        self._inbox_since = float(inbox.get("since") or datetime.now(UTC).timestamp())
        self._inbox_seen: dict[str, float] = dict(inbox.get("seen") or {})
        self._inbox_queued: set[str] = set()
        self._save_cursor()
        self._sends = Ledger(self.folder / "smsgate-local.sends")
        self._held = {entry["held"] for entry in self._sends.entries if "held" in entry}
        self._tried = {entry["tried"] for entry in self._sends.entries if "tried" in entry}

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            delivery_reports=True,
            incoming_sms=True,
            call_events=False,  # the app has no calls API
            dial=False,
            sim_slots=self._sim_count,
        )

    def phone_id(self, command_id: str) -> str:
        return f"simgate-{self._namespace}-{command_id}"

    async def send_sms(
        self,
        command_id: str,
        to: str,
        text: str,
        sim_slot: int | None = None,
        *,
        valid_until: datetime | None = None,
    ) -> None:
        if command_id in self._taken:
            return
        self._taken.add(command_id)
        phone_id = self.phone_id(command_id)
        if command_id in self._held:  # asked again after a restart: follow, never post again
            self._follow(command_id, phone_id)
            return
        body: dict[str, Any] = {
            "id": phone_id,
            "textMessage": {"text": text},
            "phoneNumbers": [to],
            "withDeliveryReport": True,
        }
        sim = sim_slot or self.api.sim
        if sim is not None:
            body["simNumber"] = sim
        if valid_until is not None:
            # The app refuses a validUntil already past (400); one perhaps
            # posted by an earlier run is followed up as usual instead.
            if lapsed(valid_until) and command_id not in self._tried:
                raise NotSent(LAPSED)
            body["validUntil"] = iso_z(valid_until)
        deadline = asyncio.get_running_loop().time() + self.api.give_up
        # Tried by an earlier run that stopped before the answer: perhaps on the phone.
        self._outgoing.put_nowait(
            Outgoing(command_id, phone_id, body, deadline, uncertain=command_id in self._tried)
        )

    async def dial(self, command_id: str, to: str) -> None:
        raise NotImplementedError("the SMS Gateway app cannot place calls")

    async def events(self) -> AsyncIterator[DriverEvent]:
        """The events; the loops that talk to the phone run while they are read."""
        loops = [
            asyncio.create_task(self._submit_loop()),
            asyncio.create_task(self._follow_loop()),
            asyncio.create_task(self._inbox_loop()),
            asyncio.create_task(self._probe()),
        ]
        try:
            async for event in self._queue.stream():
                yield event
        finally:
            for task in loops:
                task.cancel()

    async def aclose(self) -> None:
        await self._client.aclose()
        self._sends.close()

    # --- reachability --------------------------------------------------------------

    def _up(self) -> None:
        if self._phone_down:
            self._phone_down = False
            log.info("the phone at %s answers again", self.api.url)

    def _down(self, exc: Exception) -> None:
        if not self._phone_down:
            self._phone_down = True
            log.warning("the phone at %s does not answer (%s)", self.api.url, type(exc).__name__)

    async def _probe(self) -> None:
        """Learn the phone's SIM cards (§5), and tell the user early about a wrong
        address or password."""
        backoff = Backoff(cap=60.0)
        while True:
            try:
                answer = await self._client.get("/device")
            except httpx.TransportError as exc:
                self._down(exc)
            else:
                self._up()
                if answer.status_code == 401:
                    log.error("the phone refused the username or password (HTTP 401)")
                elif answer.status_code == 200:
                    self._learn_sims(answer)
                    return
            await asyncio.sleep(backoff.next())

    def _learn_sims(self, answer: httpx.Response) -> None:
        try:
            devices = answer.json()
            cards = devices[0].get("simCards") or []
        except (ValueError, IndexError, AttributeError, KeyError, TypeError):
            return
        numbers = sorted(c.get("simNumber") for c in cards if isinstance(c.get("simNumber"), int))
        self._sim_count = max(1, len(numbers))
        log.info("the phone has SIM %s", ", ".join(map(str, numbers)) or "cards it does not list")
        if self.api.sim is not None and numbers and self.api.sim not in numbers:
            log.error("SIM %s is not in the phone; its SMS will fail", self.api.sim)

    # --- sending ---------------------------------------------------------------------

    async def _submit_loop(self) -> None:
        """One send at a time, in the order the server handed them."""
        while True:
            item = await self._outgoing.get()
            backoff = Backoff()
            while True:
                outcome = await self._submit(item)
                if outcome is Outcome.HELD:
                    self._sends.write({"held": item.command_id})
                    self._held.add(item.command_id)
                    self._follow(item.command_id, item.phone_id)
                    break
                if outcome is Outcome.REFUSED:
                    self._taken.discard(item.command_id)
                    self._queue.put(Failed(item.command_id, item.refusal, datetime.now(UTC)))
                    break
                await asyncio.sleep(backoff.next())

    async def _submit(self, item: Outgoing) -> Outcome:
        late = asyncio.get_running_loop().time() > item.deadline
        try:
            if item.uncertain:
                known = await self._client.get(f"/message/{quote(item.phone_id)}")
                self._up()
                if known.status_code == 200:
                    return Outcome.HELD
                if known.status_code != 404:
                    return Outcome.RETRY
            if late:
                # Certainly not on the phone, and too late to send: the server's
                # result timeout is near, and it may try another phone.
                item.refusal = (
                    f"the phone at {self.api.url} did not answer for {self.api.give_up:.0f} s"
                )
                return Outcome.REFUSED
            if item.command_id not in self._tried:
                self._sends.write({"tried": item.command_id})
                self._tried.add(item.command_id)
            answer = await self._client.post(
                "/message", params={"skipPhoneValidation": "true"}, json=item.body
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._down(exc)  # the request never left this machine
            return Outcome.RETRY
        except httpx.TransportError as exc:
            self._down(exc)
            item.uncertain = True  # it may have reached the phone
            return Outcome.RETRY
        self._up()
        status = answer.status_code
        if status in (200, 201, 202, 409):  # 409: our id is already there (§3)
            return Outcome.HELD
        if 400 <= status < 500:
            item.refusal = f"the phone refused the SMS (HTTP {status}): {message_of(answer)}"
            log.warning("message %s: %s", item.command_id, item.refusal)
            return Outcome.REFUSED
        item.uncertain = True  # a 5xx: the app failed somewhere, perhaps after storing it
        return Outcome.RETRY

    # --- following states --------------------------------------------------------------

    def _follow(self, command_id: str, phone_id: str) -> None:
        self._followed[command_id] = Followed(command_id, phone_id, datetime.now(UTC))

    async def _follow_loop(self) -> None:
        backoff = Backoff()
        loop = asyncio.get_running_loop()
        while True:
            wait = self.api.poll
            due = [f for f in self._followed.values() if f.next_poll <= loop.time()]
            try:
                for followed in due:
                    await self._look_at(followed)
                backoff.reset()
            except httpx.TransportError as exc:
                self._down(exc)
                wait = max(wait, backoff.next())
            await asyncio.sleep(wait)

    async def _look_at(self, followed: Followed) -> None:
        answer = await self._client.get(f"/message/{quote(followed.phone_id)}")
        self._up()
        now = datetime.now(UTC)
        loop_now = asyncio.get_running_loop().time()
        if answer.status_code == 404:
            # Held once, gone now: the app purged its log. Never post it again.
            log.warning("message %s is no longer on the phone", followed.command_id)
            self._stop_following(followed)
            return
        try:
            message = answer.json() if answer.status_code == 200 else None
        except ValueError:
            message = None
        if not isinstance(message, dict):
            log.warning(
                "message %s: the phone answered HTTP %s", followed.command_id, answer.status_code
            )
            followed.next_poll = loop_now + self.api.poll
            return
        progress = read_progress(followed.command_id, message, followed.reported_sent, now)
        for event in progress.events:
            self._queue.put(event)
            if isinstance(event, Sent):
                followed.reported_sent = True
        if progress.final or now - followed.since > MAX_FOLLOW:
            self._stop_following(followed)
            return
        # Waiting for a delivery report can take hours: look less often as it ages.
        age = (now - followed.since).total_seconds()
        followed.next_poll = loop_now + min(60.0, max(self.api.poll, age / 10))

    def _stop_following(self, followed: Followed) -> None:
        self._followed.pop(followed.command_id, None)
        self._taken.discard(followed.command_id)

    # --- incoming SMS ------------------------------------------------------------------

    async def _inbox_loop(self) -> None:
        backoff = Backoff()
        while True:
            wait = self.api.inbox_poll
            try:
                await self._read_inbox()
                backoff.reset()
            except httpx.TransportError as exc:
                self._down(exc)
                wait = max(wait, backoff.next())
            except ValueError:
                log.warning("the phone's inbox answer was not JSON")
            await asyncio.sleep(wait)

    async def _read_inbox(self) -> None:
        newest = max(self._inbox_seen.values(), default=self._inbox_since)
        since = max(self._inbox_since, newest - self.api.inbox_lookback)
        items: list[Any] = []
        for page in range(INBOX_MAX_PAGES):
            answer = await self._client.get(
                "/inbox",
                params={
                    "type": "SMS",
                    "from": query_time(datetime.fromtimestamp(since, UTC)),
                    "limit": INBOX_PAGE,
                    "offset": page * INBOX_PAGE,
                },
            )
            self._up()
            if answer.status_code != 200:
                log.warning("the phone's inbox answered HTTP %s", answer.status_code)
                return
            batch = answer.json()
            if not isinstance(batch, list):
                return
            items.extend(batch)
            if len(batch) < INBOX_PAGE:
                break
        fresh = []
        for item in items:
            if not isinstance(item, dict) or item.get("type", "SMS") != "SMS":
                continue
            inbox_id, at = item.get("id"), phone_time(item.get("createdAt"))
            if not isinstance(inbox_id, str) or at is None:
                continue
            if inbox_id in self._inbox_seen or inbox_id in self._inbox_queued:
                continue
            # For an SMS the app keeps the whole text as its "preview".
            fresh.append(
                (at, inbox_id, str(item.get("sender", "")), str(item.get("contentPreview", "")))
            )
        for at, inbox_id, sender, text in sorted(fresh):
            self._inbox_queued.add(inbox_id)
            taken = partial(self._inbox_taken, inbox_id, at.timestamp())
            self._queue.put(IncomingSms(sender, text, at), taken)

    def _inbox_taken(self, inbox_id: str, at: float) -> None:
        self._inbox_queued.discard(inbox_id)
        self._inbox_seen = remember(self._inbox_seen, inbox_id, at, 2 * self.api.inbox_lookback)
        self._save_cursor()

    def _save_cursor(self) -> None:
        self._cursor.save(
            {
                "namespace": self._namespace,
                "inbox": {"since": self._inbox_since, "seen": self._inbox_seen},
            }
        )


def from_options(folder: Path, options: Mapping[str, Any]) -> SmsGateLocal:
    """The driver that `simgate device run --driver smsgate-local --smsgate-...` asks for."""
    api = PhoneApi(
        url=options["smsgate_url"],
        user=options["smsgate_user"],
        password=options["smsgate_password"],
        sim=options["smsgate_sim"],
        poll=options["smsgate_poll"],
        inbox_poll=options["smsgate_inbox_poll"],
        give_up=options["smsgate_give_up"],
    )
    return SmsGateLocal(api, folder)
