"""A stand-in for the SMS Gateway for Android app in Local Server mode: its REST
API on a loopback port, and a pretend radio behind it.

Written from reference/smsgate-local-api.md ("§" below), not from simgate's
driver. Where the reference is silent the app's source (capcom6/android-sms-
gateway, v1.68) was read: the inbox is ordered `createdAt DESC, id DESC`
(`IncomingMessagesDao.select`) and an SMS's `contentPreview` is its whole text
(`IncomingMessagesService.toPreview`).

Faults a test can switch on: `refuse` (POST answered 4xx), `radio_fails`
(a recipient Failed before Sent), `undeliverable` (Failed after Sent, a
delivery report ≥ 0x40), `drop_answers` (the message is stored, the connection
closed without an answer), `stale_reads` (GET /message/{id} answers an earlier
snapshot: duplicated and out-of-order states), `stop()`/`start()` (the phone
leaves the Wi-Fi and comes back; the app keeps sending meanwhile), `paused`
(the radio holds everything at Pending), `purge()` (the app's log lifetime
ran out). `radio` lists every SMS that went on the air.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.servers import free_port

DEVICE_ID = "ffffffffceb0b1db0000018e937c815b"  # §1: 32 hex chars
PHONE_ZONE = timezone(timedelta(hours=7))  # dates are in the phone's zone (§1)
# §4 aggregate: any Pending → Pending; any Processed → Processed; all Failed →
# Failed; all Delivered → Delivered; otherwise Sent.
FINAL = ("Delivered", "Failed", "Cancelled")


def phone_date(moment: datetime) -> str:
    """`yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in the phone's zone (§1)."""
    local = moment.astimezone(PHONE_ZONE)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+07:00"


def parse_query_date(raw: str) -> datetime | None:
    """`yyyy-MM-dd'T'HH:mm:ss[.SSS]XXX`, offset required (§1)."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass
class Recipient:
    phone_number: str
    state: str = "Pending"
    error: str | None = None


@dataclass
class StoredMessage:
    id: str
    text: str
    recipients: list[Recipient]
    sim_number: int | None
    with_delivery_report: bool
    states: dict[str, datetime] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # past answers, for stale reads

    def aggregate(self) -> str:
        states = [r.state for r in self.recipients]
        for state in ("Pending", "Cancelling", "Cancelled", "Processed"):
            if state in states:
                return state
        if all(s == "Failed" for s in states):
            return "Failed"
        if all(s == "Delivered" for s in states):
            return "Delivered"
        return "Sent"

    def answer(self) -> dict[str, Any]:
        """The message-state object (§4); null fields omitted (§1)."""
        recipients = []
        for r in self.recipients:
            item: dict[str, Any] = {"phoneNumber": r.phone_number, "state": r.state}
            if r.error is not None:
                item["error"] = r.error
            recipients.append(item)
        return {
            "id": self.id,
            "deviceId": DEVICE_ID,
            "state": self.aggregate(),
            "isHashed": False,
            "isEncrypted": False,
            "textMessage": {"text": self.text},
            "recipients": recipients,
            "states": {name: phone_date(at) for name, at in self.states.items()},
        }


class FakeSmsGateApp:
    def __init__(
        self, user: str = "sms", password: str | None = None, sims: int = 2, step: float = 0.03
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.user = user
        self.password = password or secrets.token_hex(4)  # §1: random 8 chars
        self.sims = sims
        self.step = step
        self.lock = threading.RLock()
        self.messages: dict[str, StoredMessage] = {}
        self.inbox: list[dict[str, Any]] = []
        self.radio: list[dict[str, Any]] = []  # every SMS that went on the air
        self.posts: list[dict[str, Any]] = []  # every POST /message body, answered or not
        self.refuse: dict[str, tuple[int, str]] = {}  # number → (status, message)
        self.radio_fails: dict[str, list[str]] = {}  # number → errors, one per attempt
        self.undeliverable: dict[str, str] = {}  # number → delivery error
        self.drop_answers = 0
        self.stale_reads = 0.0
        self.paused = False
        self.rng = random.Random(7)
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._running = True
        self._radio = threading.Thread(target=self._work, daemon=True)

    # --- life ------------------------------------------------------------------

    def __enter__(self) -> FakeSmsGateApp:
        self._radio.start()
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._running = False
        self.stop()
        self._radio.join(5)

    def start(self) -> FakeSmsGateApp:
        """The local server comes (back) online on its port."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        """The phone leaves the network: no new connection, open ones cut."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._connections.clear()

    # --- what a test does to the phone ---------------------------------------------

    def receive(self, sender: str, text: str, at: datetime | None = None, sim: int = 1) -> None:
        """An SMS arrives and the app stores it (§8)."""
        moment = at or datetime.now(UTC)
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)  # a Java Date
        with self.lock:
            self.inbox.append(
                {
                    "id": f"text:{len(self.inbox) + 1}{secrets.token_hex(3)}",
                    "type": "SMS",
                    "sender": sender,
                    "recipient": "+15551234567",
                    "simNumber": sim,
                    "contentPreview": text,
                    "createdAt": moment,
                }
            )

    def purge(self) -> None:
        """The app's message log lifetime ran out: every message forgotten."""
        with self.lock:
            self.messages.clear()

    def states_of(self, number: str) -> list[str]:
        with self.lock:
            return [
                m.recipients[0].state
                for m in self.messages.values()
                if m.recipients[0].phone_number == number
            ]

    def on_air(self, text: str) -> int:
        with self.lock:
            return sum(1 for sms in self.radio if sms["text"] == text)

    # --- the radio: Pending → Processed → Sent → Delivered (§4) -----------------------

    def _work(self) -> None:
        while self._running:
            time.sleep(self.step)
            if self.paused:
                continue
            with self.lock:
                for message in self.messages.values():
                    self._advance(message)

    def _advance(self, message: StoredMessage) -> None:
        now = datetime.now(UTC)
        for r in message.recipients:
            if r.state == "Pending":
                r.state = "Processed"  # handed to SmsManager
            elif r.state == "Processed":
                if message.sim_number is not None and message.sim_number > self.sims:
                    r.state = "Failed"  # §5
                    r.error = f"Can't send message: SIM {message.sim_number} not found"
                elif self.radio_fails.get(r.phone_number):
                    r.state, r.error = "Failed", self.radio_fails[r.phone_number].pop(0)
                else:
                    r.state = "Sent"
                    self.radio.append(
                        {
                            "id": message.id,
                            "to": r.phone_number,
                            "text": message.text,
                            "sim": message.sim_number,
                        }
                    )
            elif r.state == "Sent" and message.with_delivery_report:
                if r.phone_number in self.undeliverable:
                    r.state, r.error = "Failed", self.undeliverable[r.phone_number]
                else:
                    r.state = "Delivered"
            else:
                continue
        aggregate = message.aggregate()
        if aggregate not in message.states:
            message.states[aggregate] = now
            message.history.append(message.answer())

    # --- HTTP -------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # Ktor keeps connections open

            def setup(self) -> None:
                super().setup()
                with app.lock:
                    app._connections.add(self.connection)

            def finish(self) -> None:
                with app.lock:
                    app._connections.discard(self.connection)
                super().finish()

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._route("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._route("POST")

            def _route(self, method: str) -> None:
                split = urlsplit(self.path)
                path = unquote(split.path)
                query = {k: v[-1] for k, v in parse_qs(split.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if method == "GET" and path == "/health":  # the one open endpoint (§1)
                    return self._json(200, app.health())
                if not self._authorized():
                    challenge = {"WWW-Authenticate": 'Basic realm="Access to SMS Gateway"'}
                    return self._send(401, b"", challenge)  # §1.1: empty body
                if method == "GET" and path == "/":
                    return self._json(200, {"status": "ok", "model": "Fake Phone"})
                if method == "GET" and path == "/device":
                    return self._json(200, app.device())
                if method == "POST" and path in ("/message", "/messages"):
                    return app.post_message(self, body, query)
                if method == "GET" and path.startswith(("/message/", "/messages/")):
                    return app.get_message(self, path.split("/", 2)[2])
                if method == "GET" and path == "/inbox":
                    return app.list_inbox(self, query)
                self._send(404, b"")

            def _authorized(self) -> bool:
                header = self.headers.get("Authorization") or ""
                if not header.startswith("Basic "):
                    return False
                try:
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except ValueError:
                    return False
                return user == app.user and password == app.password

            def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
                headers = {"Content-Type": "application/json", **(headers or {})}
                self._send(status, json.dumps(value).encode(), headers)

            def _send(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def health(self) -> dict[str, Any]:
        return {"version": "1.68.0", "releaseId": 168, "status": "pass", "checks": {}}

    def device(self) -> list[dict[str, Any]]:
        """§2 `GET /device`; SIM cards as §5 lists them."""
        cards = [
            {
                "slotIndex": n - 1,
                "simNumber": n,
                "phoneNumber": f"+155500000{n}",
                "carrierName": "X",
            }
            for n in range(1, self.sims + 1)
        ]
        return [{"id": DEVICE_ID, "name": "Fake Phone", "simCards": cards}]

    def post_message(self, handler: Any, raw: bytes, query: dict[str, str]) -> None:
        """§3 `POST /message`."""
        try:
            body = json.loads(raw)
        except ValueError:
            return handler._json(400, {"message": "Invalid request body"})
        with self.lock:
            self.posts.append(body)
        kinds = [k for k in ("textMessage", "dataMessage", "message") if body.get(k) is not None]
        if len(kinds) != 1:
            kinds_wanted = "Must specify exactly one of: textMessage, dataMessage, or message"
            return handler._json(400, {"message": kinds_wanted})
        text = body["textMessage"]["text"] if kinds == ["textMessage"] else body.get("message")
        if not text:
            return handler._json(400, {"message": "Text message is empty"})
        numbers = body.get("phoneNumbers") or []
        if not numbers:
            return handler._json(400, {"message": "phoneNumbers is empty"})
        sim = body.get("simNumber")
        if sim is not None and sim < 1:
            return handler._json(400, {"message": "simNumber must be >= 1"})
        for number in numbers:
            if number in self.refuse:
                status, message = self.refuse[number]
                return handler._json(status, {"message": message})
        message_id = body.get("id") or secrets.token_urlsafe(15)  # nanoid when absent
        with self.lock:
            if message_id in self.messages:  # §3: reusing an id → 409
                taken = {"message": f"Message with id {message_id} already exists"}
                return handler._json(409, taken)
            # Validation happens at send time (§3); the test numbers are E.164.
            stored = StoredMessage(
                message_id,
                str(text),
                [Recipient(n) for n in numbers],
                sim,
                body.get("withDeliveryReport", True) is not False,  # default true (§3)
                {"Pending": datetime.now(UTC)},
            )
            stored.history.append(stored.answer())
            self.messages[message_id] = stored
            answer = stored.answer()
            if self.drop_answers:
                self.drop_answers -= 1
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
                return None
        handler._json(202, answer)  # 202: queued, not sent (§3)

    def get_message(self, handler: Any, message_id: str) -> None:
        """§4 `GET /message/{id}`; stale reads answer an earlier snapshot."""
        with self.lock:
            stored = self.messages.get(message_id)
            if stored is None:
                return handler._send(404, b"")
            answer = stored.answer()
            if self.stale_reads and self.rng.random() < self.stale_reads:
                answer = copy.deepcopy(self.rng.choice(stored.history))
        handler._json(200, answer)

    def list_inbox(self, handler: Any, query: dict[str, str]) -> None:
        """§8 `GET /inbox`."""
        try:
            limit = int(query.get("limit", "50"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            return handler._json(400, {"message": "limit and offset must be numbers"})
        if not 1 <= limit <= 500:
            return handler._json(400, {"message": "limit must be between 1 and 500"})
        start = (
            parse_query_date(query["from"]) if "from" in query else datetime.fromtimestamp(0, UTC)
        )
        end = parse_query_date(query["to"]) if "to" in query else datetime.now(UTC)
        if start is None or end is None:
            return handler._json(400, {"message": "Invalid from datetime"})
        kind = query.get("type")
        with self.lock:
            chosen = [
                m
                for m in self.inbox
                if (kind is None or m["type"] == kind) and start <= m["createdAt"] <= end
            ]
        chosen.sort(key=lambda m: (m["createdAt"], m["id"]), reverse=True)
        page = [
            dict(m, createdAt=phone_date(m["createdAt"])) for m in chosen[offset : offset + limit]
        ]
        handler._json(200, page, {"X-Total-Count": str(len(chosen))})
