"""One modem through libGammu (python-gammu), seen from the thread that owns it.

Every method blocks on the serial line: the driver (driver.py) calls them one
at a time from a single worker thread, never from its event loop
(shared/reference/gammu.md section 6). This module also decides what a
libGammu error means for an SMS: not sent, perhaps sent, or the modem gone.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gammu

log = logging.getLogger(__name__)

# Errors that say the link to the modem is broken, not that it refused
# something: the driver closes the state machine and opens it again.
LINK_ERRORS: tuple[type[Exception], ...] = (
    gammu.ERR_DEVICEWRITEERROR,
    gammu.ERR_DEVICEREADERROR,
    gammu.ERR_DEVICENOTEXIST,
    gammu.ERR_DEVICEOPENERROR,
    gammu.ERR_DEVICENOTWORK,
    gammu.ERR_DEVICENOPERMISSION,
    gammu.ERR_DEVICELOCKED,
    gammu.ERR_DEVICEBUSY,
    gammu.ERR_NOTCONNECTED,
    gammu.ERR_TIMEOUT,
)


class ModemGone(Exception):
    """The modem does not answer (unplugged, port gone, link broken)."""


class Refused(Exception):
    """The modem answered and refused the SMS (+CMS ERROR and the like): it
    was certainly not sent."""


class MaybeSent(Exception):
    """No answer after the SMS went to the modem: it may have been sent."""


@dataclass(frozen=True)
class ModemConfig:
    """Where the modem is: a gammurc file, or a device and a connection."""

    config_file: Path | None = None
    device: str | None = None
    connection: str = "at"
    log_file: Path | None = None  # libGammu's own log, for troubleshooting


def describe(exc: Exception) -> str:
    """libGammu's text for an error, with its name (ERR_...)."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    text = info.get("Text") or str(exc)
    return f"{text} ({type(exc).__name__})"


class Modem:
    def __init__(self, config: ModemConfig) -> None:
        self.config = config
        self.sm: Any = None
        self._calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    # --- the link -------------------------------------------------------------

    def connect(self, want_calls: bool) -> None:
        """Open the port and initialise the modem; ModemGone if it cannot."""
        sm = gammu.StateMachine()
        if self.config.config_file is not None:
            sm.ReadConfig(Filename=str(self.config.config_file))
        else:
            settings = {
                "Device": self.config.device,
                "Connection": self.config.connection,
                "Model": "",
            }
            if self.config.log_file is not None:
                settings.update(DebugFile=str(self.config.log_file), DebugLevel="textalldate")
            sm.SetConfig(0, settings)
        try:
            sm.Init()
        except gammu.GSMError as exc:
            raise ModemGone(describe(exc)) from exc
        if want_calls:
            sm.SetIncomingCallback(self._on_event)
            try:
                sm.SetIncomingCall(True)  # AT+CLIP: the caller's number with each RING
            except LINK_ERRORS as exc:
                self.sm = sm
                self.close()  # or the port stays open (and locked) for the next try
                raise ModemGone(describe(exc)) from exc
            except gammu.GSMError as exc:
                log.warning("this modem does not report incoming calls: %s", describe(exc))
        self.sm = sm

    def close(self) -> None:
        sm, self.sm = self.sm, None
        if sm is not None:
            try:
                sm.Terminate()
            except gammu.GSMError as exc:
                log.debug("closing the modem: %s", describe(exc))

    def alive(self) -> bool:
        """Whether the modem still answers (any answer but a broken link)."""
        try:
            self._sm().GetSignalQuality()
        except LINK_ERRORS:
            return False
        except gammu.GSMError:
            pass
        return True

    # --- SMS ------------------------------------------------------------------

    def send(self, part: dict[str, Any]) -> int:
        """Send one part (an EncodeSMS dict with Number and SMSC); its TP-MR.

        python-gammu's SendSMS raises ERR_TIMEOUT when the modem took the PDU
        and never said +CMGS or +CMS ERROR (gammu.c): perhaps sent. Any other
        error comes before the PDU is complete on the wire or from the
        modem's own refusal: not sent; the modem is then asked whether it is
        still there, to tell a refusal from a pulled-out stick.
        """
        sm = self._sm()
        try:
            return int(sm.SendSMS(part))
        except gammu.ERR_TIMEOUT as exc:
            raise MaybeSent(describe(exc)) from exc
        except gammu.GSMError as exc:
            if self.alive():
                raise Refused(describe(exc)) from exc
            raise ModemGone(describe(exc)) from exc

    def read_all(self) -> list[list[dict[str, Any]]]:
        """Every message stored in the modem (section 4.1: Folder 0 is the
        flat view over SIM and phone memory)."""
        sm = self._sm()
        found: list[list[dict[str, Any]]] = []
        location: int | None = None
        while True:
            try:
                if location is None:
                    batch = sm.GetNextSMS(Folder=0, Start=True)
                else:
                    batch = sm.GetNextSMS(Folder=0, Location=location)
            except gammu.ERR_EMPTY:
                return found
            except LINK_ERRORS as exc:
                raise ModemGone(describe(exc)) from exc
            found.append(batch)
            location = batch[0]["Location"]

    def delete(self, location: int) -> None:
        try:
            self._sm().DeleteSMS(Folder=0, Location=location)
        except gammu.ERR_EMPTY:
            pass  # already gone
        except LINK_ERRORS as exc:
            raise ModemGone(describe(exc)) from exc

    # --- calls ----------------------------------------------------------------

    def dial(self, number: str) -> None:
        """Start a voice call; Refused if the modem will not (data-only sticks)."""
        try:
            self._sm().DialVoice(number)
        except LINK_ERRORS as exc:
            raise ModemGone(describe(exc)) from exc
        except gammu.GSMError as exc:
            raise Refused(describe(exc)) from exc

    def tick(self) -> None:
        """A cheap command: python-gammu hands queued call events to the
        callback only after some call returns (section 4.3)."""
        try:
            self._sm().GetSignalQuality()
        except LINK_ERRORS as exc:
            raise ModemGone(describe(exc)) from exc
        except gammu.GSMError:
            pass

    def take_calls(self) -> list[dict[str, Any]]:
        with self._lock:
            calls, self._calls = self._calls, []
        return calls

    def _on_event(self, sm: Any, kind: str, data: Any) -> None:
        # Runs inside a python-gammu call: it may not call Gammu (section 4.3).
        if kind == "Call" and isinstance(data, dict):
            with self._lock:
                self._calls.append(data)

    def _sm(self) -> Any:
        if self.sm is None:
            raise ModemGone("the modem is not connected")
        return self.sm


def encode(text: str, number: str, smsc: str | None, status_report: bool) -> list[dict[str, Any]]:
    """The parts of one SMS, as section 3.2 says: GSM 7-bit when the text
    allows it, UCS-2 otherwise, concatenated when long."""
    try:
        parts: list[dict[str, Any]] = gammu.EncodeSMS(
            {
                "Class": -1,
                "Unicode": False,
                "Entries": [{"ID": "ConcatenatedAutoTextLong", "Buffer": text}],
            }
        )
    except gammu.GSMError as exc:
        raise Refused(describe(exc)) from exc
    for part in parts:
        part["Number"] = number
        part["SMSC"] = {"Number": smsc} if smsc else {"Location": 1}
        if status_report:
            part["Type"] = "Status_Report"  # TP-SRR (section 3.1)
    return parts
