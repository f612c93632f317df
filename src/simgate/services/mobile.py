"""The SMS Gateway for Android app in private-server mode: its use cases.

The app (reference/smsgate-mobile-api.md) registers with the pairing secret
the operator typed into it as its "Private Token", pulls the messages the
dispatcher handed to it, reports their states, and posts signed webhooks for
the SMS it receives. Each use case is one transaction.

What the app reports becomes the frames an agent would send
(device/protocol.py) and goes through the same report handling
(services/device_reports.py): the same rules (a report counts only from the
device holding the message, a repeat changes nothing, a failed send is
retried elsewhere) and the same five webhooks, whatever phone sent the SMS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine

from simgate.device import protocol
from simgate.domain import ids, smsgate
from simgate.services import dispatch
from simgate.services.device_reports import Frame, Reporter, apply_batch
from simgate.store import devices as device_store
from simgate.store import in_flight
from simgate.store import mobile as store
from simgate.store.db import reading
from simgate.store.devices import AppDevice

__all__ = ["AppDevice", "Pulled", "Registered"]

# §9: the ids of the webhooks simgate asks the app to post to it.
WEBHOOK_IDS = {smsgate.SMS_RECEIVED: "simgate-sms-received", smsgate.PING: "simgate-ping"}
API_PATH = "/api/mobile/v1"
INCOMING_PATH = API_PATH + "/incoming/{device_id}"
NOT_SENT = "the phone could not send it"
CANCELLED = "cancelled on the phone"


@dataclass(frozen=True, slots=True)
class Registered:
    """§4.2: what the app stores; `login` is shown as its "Username"."""

    id: str
    token: str
    login: str


@dataclass(frozen=True, slots=True)
class Pulled:
    messages: list[dict[str, Any]]
    claimed: int  # how many this pull itself took from the queue


def api_url(public_url: str) -> str:
    """What the user types as the app's API URL (§2)."""
    return public_url.rstrip("/") + API_PATH


def cleartext_refused(url: str) -> bool:
    """§2.1: the app's release build speaks plain http to 127.0.0.1 only."""
    parts = urlsplit(url)
    return parts.scheme != "https" and parts.hostname != "127.0.0.1"


def public_id(device: AppDevice) -> str:
    """The device id the app stores and echoes (§4.3) and puts in its webhooks."""
    return str(device.id)


def _app_info(name: str, cards: tuple[smsgate.SimCard, ...], user_agent: str) -> str:
    info = {"model": name, "simCards": [c.as_json() for c in cards], "agent": user_agent[:120]}
    return json.dumps(info, ensure_ascii=False)


# --- registration and the device ---------------------------------------------------------


def register(
    engine: Engine,
    private_token: str,
    registration: smsgate.Registration,
    user_agent: str,
    now: datetime,
) -> Registered | None:
    """§4.2 `POST /device`: the app with the device's pairing secret gets a
    new token (an earlier one stops working: the same phone registering again
    after its data was cleared). None for an unknown secret."""
    with engine.begin() as conn:
        device = device_store.app_by_pairing_hash(conn, ids.hash_secret(private_token))
        if device is None:
            return None
        token = ids.new_secret(ids.DEVICE_TOKEN_PREFIX)
        info = _app_info(registration.name, registration.sim_cards, user_agent)
        device_store.register_app(
            conn, device.id, ids.hash_secret(token), registration.push_token, info, now
        )
        device_store.set_sims(conn, device.id, _declared_slots(registration.sim_cards))
    return Registered(public_id(device), token, device.account.email)


def authenticate(engine: Engine, token: str) -> AppDevice | None:
    """The smsgate device whose bearer token this is, if it is still paired."""
    with reading(engine) as conn:
        return device_store.app_by_token_hash(conn, ids.hash_secret(token))


def update_device(engine: Engine, device: AppDevice, update: smsgate.DeviceUpdate) -> bool:
    """§4.3 `PATCH /device`; False when `id` names another device (403)."""
    if update.id != public_id(device):
        return False
    with engine.begin() as conn:
        info = None
        if update.sim_cards is not None:
            old = json.loads(device_store.app_info(conn, device.id) or "{}")
            info = _app_info(old.get("model", ""), update.sim_cards, old.get("agent", ""))
            device_store.set_sims(conn, device.id, _declared_slots(update.sim_cards))
        device_store.update_app(conn, device.id, update.push_token, info)
    return True


def seen(engine: Engine, device_id: int, node: str, now: datetime) -> None:
    """The app called (§10: any authenticated request says it is alive)."""
    with engine.begin() as conn:
        device_store.set_online(conn, device_id, node, now)


def stream_closed(engine: Engine, device_id: int, node: str, now: datetime) -> None:
    """The app's last event stream on `node` closed. What was handed to it
    stays handed over: the app may pull it without a stream, and its lease
    takes back what it never does."""
    with engine.begin() as conn:
        device_store.set_offline(conn, device_id, node, now)


# --- work ----------------------------------------------------------------------------------


def pull(
    engine: Engine,
    device: AppDevice,
    node: str,
    newest_first: bool,
    budget: int,
    lease_seconds: float,
    result_timeout: float,
    max_in_flight: int,
    max_handovers: int,
    now: datetime,
) -> Pulled:
    """§6 `GET /message`: what the device holds and has not acknowledged.

    With a `budget` (the app has no event stream on this node, so the
    dispatcher hands it nothing), the pull first claims up to that many due
    messages for it, within its in-flight cap, as a dispatcher tick would.
    The lease of each message listed restarts now, when the app takes it,
    but never runs past its `validUntil` (the earlier of the result timeout
    and the message's own validity): a message the app takes and never
    reports on goes back to the queue like any unacknowledged hand-over.
    """
    lease = timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        device_store.set_online(conn, device.id, node, now)
        claimed = 0
        if budget > 0:
            room = max_in_flight - in_flight.held_by(conn, [device.id]).get(device.id, 0)
            capacity = {device.id: min(budget, room)}
            if capacity[device.id] > 0:
                claimed = len(
                    dispatch.claim(
                        conn, device.account.id, capacity, now, lease_seconds, max_handovers
                    )
                )
        rows = store.assigned(conn, device.id, smsgate.MAX_PENDING, newest_first)
        valid_until = {r.id: _valid_until(r, result_timeout) for r in rows}
        store.restart_leases(
            conn, device.id, [(r.id, min(now + lease, valid_until[r.id])) for r in rows]
        )
    items = [
        smsgate.pending_message(
            protocol.command_id(r.id, r.attempts),
            r.phone_number,
            r.message,
            r.priority,
            r.created_at,
            valid_until[r.id],
            r.sim or device.sim_number,
        )
        for r in rows
    ]
    return Pulled(items, claimed)


def _valid_until(row: store.Assigned, result_timeout: float) -> datetime:
    """The app's `validUntil`: when the server stops waiting for its result,
    or the message's own validity when that ends sooner (the app fails it
    itself past it)."""
    waited = row.dispatched_at + timedelta(seconds=result_timeout)
    return waited if row.valid_until is None else min(waited, row.valid_until)


def _declared_slots(cards: tuple[smsgate.SimCard, ...]) -> tuple[int, ...] | None:
    """The SIM slots the app reported (`simNumber`, 1-based); None when it reported none."""
    return tuple(sorted({c.sim_number for c in cards})) or None


def frames_of(report: smsgate.StateReport) -> list[Frame]:
    """An app's snapshot of one message (§7) as the frames an agent would send.

    Any state says the app holds the message (the acknowledgement); `Sent`
    and `Delivered` are a send result and a delivery report; `Failed` after
    `Sent` is a delivery failure (the SMS left the phone: it is not sent
    again), before it a failed send (retried, on another phone if there is
    one). Each frame is idempotent, and the store's states only move
    forward, so a repeated or late snapshot changes nothing.
    """
    parsed = protocol.parse_command_id(report.id)
    if parsed is None:
        return []  # not a message simgate handed out
    message_id, attempt = parsed
    history = report.history
    ref = f"app-{report.id}"
    frames: list[Frame] = [protocol.Ack(message_id, attempt)]
    sent_at = history.get("Sent") or history.get("Delivered")

    def sent() -> protocol.Result:
        return protocol.Result(ref + "-sent", message_id, attempt, "sent", "", sent_at)

    match report.state:
        case "Sent":
            frames.append(sent())
        case "Delivered":
            delivered_at = history.get("Delivered")
            frames += [
                sent(),
                protocol.Delivery(ref + "-dlr", message_id, attempt, "delivered", "", delivered_at),
            ]
        case "Failed" if sent_at is not None:
            reason = report.error or "not delivered to the recipient"
            frames += [
                sent(),
                protocol.Delivery(
                    ref + "-dlr", message_id, attempt, "undelivered", reason, history.get("Failed")
                ),
            ]
        case "Failed" | "Cancelled":
            reason = report.error or (CANCELLED if report.state == "Cancelled" else NOT_SENT)
            at = history.get(report.state)
            frames.append(
                protocol.Result(ref + "-failed", message_id, attempt, "failed", reason, at)
            )
    return frames


def report_states(
    engine: Engine,
    device: AppDevice,
    reports: list[smsgate.StateReport],
    max_attempts: int,
    result_timeout: float,
    now: datetime,
) -> None:
    """§7 `PATCH /message`: the snapshots, applied in one transaction."""
    reporter = Reporter(device.id, device.account)
    frames = [(reporter, frame) for report in reports for frame in frames_of(report)]
    if frames:
        # Outcomes about messages this device does not hold are dropped, as
        # the Go server ignores unknown ids: the app has nothing to do with them.
        apply_batch(engine, frames, max_attempts, result_timeout, now)


# --- what the app posts to simgate -------------------------------------------------------


def app_settings(device: AppDevice) -> dict[str, Any]:
    """§8 `GET /settings`: the key the app signs its webhooks with, and the
    "SSE Only" channel: simgate sends no Google push, so an app left on AUTO
    would only poll every 15 minutes (§5.4; it applies after a restart)."""
    return {
        "gateway": {"notification_channel": "SSE_ONLY"},
        "webhooks": {"signing_key": device.signing_key},
    }


def app_webhooks(device: AppDevice, public_url: str) -> list[dict[str, str]]:
    """§9 `GET /webhooks`: received SMS and pings, posted to simgate itself."""
    url = public_url.rstrip("/") + INCOMING_PATH.format(device_id=public_id(device))
    return [
        {"id": hook_id, "url": url, "event": event, "deviceId": public_id(device)}
        for event, hook_id in WEBHOOK_IDS.items()
    ]


def find_for_webhook(engine: Engine, raw_id: str) -> AppDevice | None:
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 9:
        return None
    with reading(engine) as conn:
        return device_store.app_by_id(conn, int(raw_id))


def receive_webhook(
    engine: Engine,
    device: AppDevice,
    webhook: smsgate.Webhook,
    node: str,
    max_attempts: int,
    result_timeout: float,
    now: datetime,
) -> None:
    """A webhook the app posted, its signature already checked
    (`smsgate.signature_ok`): a received SMS becomes the `message` webhook,
    stored once per delivery id (the app retries, §6.4); any other event says
    the phone is alive."""
    if webhook.sms is None:
        seen(engine, device.id, node, now)
        return
    sms = webhook.sms
    frame = protocol.SmsReceived(webhook.id, sms.sender, sms.text, sms.received_at)
    reporter = Reporter(device.id, device.account)
    apply_batch(engine, [(reporter, frame)], max_attempts, result_timeout, now)
