"""A stand-in for the SMS Gateway for Android app (v1.68) in private-server mode.

Written from /work/shared/reference/smsgate-mobile-api.md (the "mobile" doc,
sections noted as §N) and smsgate-local-api.md §6 (the webhooks the phone
posts, noted "local §6.N"), not from simgate's code. It does what the app
does over HTTP: registers with the private token, opens the event stream,
pulls its messages, "sends" them, reports every state change with the app's
date format, and posts signed webhooks for the SMS it receives. It can also
misbehave: repeat and reorder its reports, refuse or fail to deliver some
numbers, vanish in the middle of a batch, sign with the wrong key.

Its checks of what the server answers (exactly three fractional digits in
dates, the event-stream content type, the ids it requires...) are recorded
in `problems`; tests assert that list is empty.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

USER_AGENT = "me.capcom.smsgateway/1.68.0"  # §3
# §3: the app writes `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in the phone's time zone.
PHONE_TZ = timezone(timedelta(hours=7))
# §3: the app reads dates with exactly three fractional digits correctly.
SERVER_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
# §9: the events app 1.68 knows; an unknown one makes its webhook sync fail.
KNOWN_WEBHOOK_EVENTS = {
    "sms:received", "sms:data-received", "sms:sent", "sms:delivered", "sms:failed",
    "sms:cancelled", "system:ping", "mms:received", "mms:downloaded", "app:started",
}  # fmt: skip
# §5.1
KNOWN_EVENTS = {
    "MessageEnqueued", "MessageCancelled", "WebhooksUpdated", "SettingsUpdated",
    "MessagesExportRequested",
}  # fmt: skip


def app_now() -> str:
    """Now, as the app writes dates (§3), e.g. 2026-05-13T16:49:17.357+07:00."""
    return datetime.now(PHONE_TZ).isoformat(timespec="milliseconds")


def signature(key: str, body: bytes, timestamp: str) -> str:
    """local §6.3: lower-case hex HMAC-SHA256 of the raw body + X-Timestamp."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


@dataclass
class Local:
    """A message in the app's own database (§6: its id is the primary key)."""

    id: str
    phone: str
    text: str
    state: str = "Pending"
    states: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class FakeApp:
    def __init__(
        self,
        api_url: str,
        private_token: str,
        *,
        name: str = "Google/bluejay",
        refuse: set[str] | None = None,
        undeliverable: set[str] | None = None,
        repeat_reports: bool = False,
        reorder_reports: bool = False,
        vanish_after: int | None = None,
        reconnect_delay: float = 0.2,
        push_token: str | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.private_token = private_token
        self.name = name
        self.refuse = refuse or set()  # numbers whose send fails (§7.1 Failed before Sent)
        self.undeliverable = undeliverable or set()  # sent, then a failed delivery report
        self.repeat_reports = repeat_reports  # every PATCH twice (§7: retries)
        self.reorder_reports = reorder_reports  # Sent reported again after Delivered
        self.vanish_after = vanish_after  # stop after "sending" this many SMS
        self.reconnect_delay = reconnect_delay  # §5.2 says 5 s; shorter in tests
        self.push_token = push_token  # absent in SSE_ONLY mode (§4.1)
        self.device_id: str | None = None
        self.token: str | None = None
        self.login: str | None = None
        self.signing_key: str | None = None
        self.settings: dict[str, Any] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.db: dict[str, Local] = {}
        self.sent: list[tuple[str, str, str]] = []  # (id, phone, text) put on the radio
        self.problems: list[str] = []
        self.stream_opened = threading.Event()
        self.vanished = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.http = httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=10)

    # --- §4: registration ----------------------------------------------------------------

    def register(self) -> httpx.Response:
        body: dict[str, Any] = {
            "name": self.name,
            "simCards": [
                {"slotIndex": 0, "simNumber": 1, "phoneNumber": "********4567",
                 "carrierName": "**bile", "iccid": "***************1234"}
            ],
        }  # fmt: skip
        if self.push_token is not None:  # Gson omits nulls (§3)
            body["pushToken"] = self.push_token
        response = self.http.post(
            self.api_url + "/device",
            json=body,
            headers={"Authorization": f"Bearer {self.private_token}"},
        )
        if response.is_success:
            answer = response.json()
            for key in ("id", "token", "login"):  # §4.2: non-null strings
                if not isinstance(answer.get(key), str) or not answer[key]:
                    self.problems.append(f"registration answer without {key}: {answer}")
            self.device_id, self.token, self.login = answer["id"], answer["token"], answer["login"]
        return response

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def update(self, **fields: Any) -> httpx.Response:
        """§4.3 PATCH /device; a 401 sends the app back to POST /device."""
        body = {"id": self.device_id, **fields}
        response = self.http.patch(self.api_url + "/device", json=body, headers=self._auth())
        if response.status_code == 401:
            self.register()
        return response

    def sync(self) -> None:
        """§8 settings and §9 webhooks, as on start."""
        response = self.http.get(self.api_url + "/settings", headers=self._auth())
        response.raise_for_status()
        self.settings = response.json()
        if not isinstance(self.settings, dict) or any(
            v is None for v in self.settings.values()
        ):  # §8: a null section makes the import fail
            self.problems.append(f"settings: {self.settings}")
        self.signing_key = self.settings.get("webhooks", {}).get("signing_key")
        response = self.http.get(self.api_url + "/webhooks", headers=self._auth())
        response.raise_for_status()
        hooks = response.json()
        for hook in hooks:
            if hook.get("event") not in KNOWN_WEBHOOK_EVENTS:
                self.problems.append(f"unknown webhook event: {hook}")
            url = str(hook.get("url", ""))
            # local §6.1: https, or http only to 127.0.0.1.
            if not (url.startswith("https://") or url.startswith("http://127.0.0.1")):
                self.problems.append(f"webhook URL the app refuses: {url}")
        self.webhooks = hooks  # §9: replaces the whole Cloud list

    # --- §6, §7: pulling and reporting ------------------------------------------------------

    def pull(self, order: str = "lifo") -> list[dict[str, Any]]:
        response = self.http.get(
            self.api_url + "/message", params={"order": order}, headers=self._auth()
        )
        response.raise_for_status()
        if response.headers.get("content-type", "").split(";")[0] != "application/json":
            self.problems.append(f"GET /message content type {response.headers}")
        items: list[dict[str, Any]] = response.json()
        for item in items:
            self._check_item(item)
            # §6: a known id is re-reported, not sent again; a new one is
            # stored, then reported Pending (§7: after every state change).
            with self._lock:
                local = self.db.get(item["id"])
                if local is None:
                    text = item.get("textMessage", {}).get("text") or item.get("message")
                    local = Local(item["id"], item["phoneNumbers"][0], text)
                    local.states["Pending"] = app_now()
                    self.db[item["id"]] = local
            self._report(local)
        return items

    def _check_item(self, item: dict[str, Any]) -> None:
        for key in ("id", "phoneNumbers"):
            if key not in item:
                self.problems.append(f"pending message without {key}: {item}")
        if len(str(item.get("id", ""))) > 36:
            self.problems.append(f"id longer than 36: {item['id']}")
        text = item.get("textMessage", {}).get("text")
        if text is None or item.get("message") != text:  # §12: both forms
            self.problems.append(f"message and textMessage differ: {item}")
        for key in ("validUntil", "createdAt", "scheduleAt"):
            if key in item and not SERVER_DATE.match(item[key]):
                self.problems.append(f"{key} the app misreads: {item[key]}")
        if not -128 <= item.get("priority", 0) <= 127:
            self.problems.append(f"priority out of range: {item}")
        if "simNumber" in item and item["simNumber"] not in (1, 2, 3):
            self.problems.append(f"simNumber out of range: {item}")

    def _snapshot(self, local: Local, state: str | None = None) -> dict[str, Any]:
        """§7: the full current snapshot (one recipient per simgate message)."""
        state = state or local.state
        recipient: dict[str, Any] = {"phoneNumber": local.phone, "state": state}
        if local.error is not None:
            recipient["error"] = local.error
        return {"id": local.id, "state": state, "recipients": [recipient], "states": local.states}

    def _report(self, local: Local, state: str | None = None) -> None:
        body = [self._snapshot(local, state)]
        for _ in range(2 if self.repeat_reports else 1):
            response = self.http.patch(self.api_url + "/message", json=body, headers=self._auth())
            if not response.is_success:
                self.problems.append(f"PATCH /message answered {response.status_code}")

    def _set(self, local: Local, state: str, error: str | None = None) -> None:
        local.state = state
        local.states.setdefault(state, app_now())
        local.error = error
        self._report(local)

    def process(self) -> None:
        """Send what waits in the local queue, reporting each state (§7.1)."""
        with self._lock:
            waiting = [m for m in self.db.values() if m.state == "Pending"]
        for local in waiting:
            if self.vanish_after is not None and len(self.sent) >= self.vanish_after:
                self.vanish()
                return
            self._set(local, "Processed")
            if local.phone in self.refuse:
                self._set(local, "Failed", "Send result: RESULT_ERROR_GENERIC_FAILURE")
                continue
            self.sent.append((local.id, local.phone, local.text))
            self._set(local, "Sent")
            if local.phone in self.undeliverable:
                self._set(local, "Failed", "Delivery result from SC +33600000000: 65")
                continue
            self._set(local, "Delivered")
            if self.reorder_reports:
                self._report(local, "Sent")  # an old snapshot, retried late

    # --- §5.2: the event stream ---------------------------------------------------------------

    def start(self) -> FakeApp:
        """Register if needed, sync, and listen on the event stream in a thread."""
        if self.token is None:
            self.register().raise_for_status()
        self.sync()
        self._stop.clear()
        self.vanished.clear()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()
        return self

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                self._stream_once()
            except httpx.HTTPError:
                pass
            except Exception as exc:  # noqa: BLE001 (recorded for the test)
                self.problems.append(f"listener: {exc!r}")
            self._stop.wait(self.reconnect_delay)

    def _stream_once(self) -> None:
        timeout = httpx.Timeout(10, read=60)  # §5.2: the app reads for up to an hour
        with self.http.stream(
            "GET", self.api_url + "/events", headers=self._auth(), timeout=timeout
        ) as response:
            if response.status_code == 401:
                self.register()
                return
            response.raise_for_status()
            if response.headers.get("content-type") != "text/event-stream":
                self.problems.append(f"event stream type: {response.headers.get('content-type')}")
            self.stream_opened.set()
            self._work()  # §5.2: on open the app pulls at once
            event = None
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    continue  # a comment: keep-alive
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    json.loads(line[5:].strip() or "{}")
                elif line == "" and event is not None:
                    if event not in KNOWN_EVENTS:
                        self.problems.append(f"unknown event {event}")
                    if event == "MessageEnqueued":
                        self._work()
                    event = None

    def _work(self) -> None:
        if self._stop.is_set():
            return
        self.pull()
        self.process()

    def vanish(self) -> None:
        """The phone is gone (killed, out of coverage): no more requests."""
        self._stop.set()
        self.vanished.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(15)

    def close(self) -> None:
        self.stop()
        self.http.close()

    # --- local §6: webhooks the phone posts -------------------------------------------------

    def hook_url(self, event: str) -> str:
        [url] = [h["url"] for h in self.webhooks if h["event"] == event]
        return str(url)

    def receive_sms(
        self,
        sender: str,
        text: str,
        *,
        key: str | None = None,
        timestamp: int | None = None,
        delivery_id: str | None = None,
    ) -> httpx.Response:
        """An SMS arrives: the phone posts `sms:received`, signed (local §6.2, §6.3)."""
        envelope = {
            "id": delivery_id or secrets.token_urlsafe(15),
            "webhookId": "simgate-sms-received",
            "event": "sms:received",
            "deviceId": self.device_id,
            "payload": {
                "messageId": hashlib.sha1(text.encode()).hexdigest()[:8],
                "message": text,
                "sender": sender,
                "recipient": "+15551234567",
                "simNumber": 1,
                "receivedAt": app_now(),
                "phoneNumber": sender,
            },
        }
        return self.post_webhook("sms:received", envelope, key=key, timestamp=timestamp)

    def post_webhook(
        self,
        event: str,
        envelope: dict[str, Any],
        *,
        key: str | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        body = json.dumps(envelope, ensure_ascii=False).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signing_key = key if key is not None else self.signing_key
        assert signing_key is not None
        return self.http.post(
            self.hook_url(event),
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Timestamp": stamp,
                "X-Signature": signature(signing_key, body, stamp),
            },
        )
