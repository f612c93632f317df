"""Stand-ins for a USB modem, test side, written from shared/reference/gammu.md:

- `FakeModem`: the state folder of tests/support/fake_at_modem.py, which
  libGammu runs over its `proxyat` connection (section 7.2), so its real AT
  driver and PDU codec run; what the "radio" sent is the PDUs it captured;
- `DummyPhone`: Gammu's own `dummy` driver, a phone in a folder (section 7.1).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.support import gsm_pdu

FAKE_MODEM = Path(__file__).with_name("fake_at_modem.py")


def _write_atomically(path: Path, text: str) -> None:
    # The modem process reads the folder while the test writes to it.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class FakeModem:
    folder: Path

    def __post_init__(self) -> None:
        (self.folder / "inbox").mkdir(parents=True, exist_ok=True)

    def gammurc(self) -> Path:
        """A gammurc whose device is this fake modem (section 7.2: `proxyat`
        runs `device` as a command and speaks AT over its stdin/stdout)."""
        log = f"logfile = {self.folder / 'gammu.log'}\nlogformat = textalldate\n"
        plugged = (
            f"[gammu]\ndevice = {sys.executable} {FAKE_MODEM} {self.folder}\n"
            f"connection = proxyat\n{log}"
        )
        # Unplugged, the port is gone: libGammu cannot open it (ERR_DEVICENOTEXIST).
        unplugged = f"[gammu]\ndevice = {self.folder / 'ttyUSB-gone'}\nconnection = at\n{log}"
        (self.folder / "gammurc.plugged").write_text(plugged)
        (self.folder / "gammurc.unplugged.copy").write_text(unplugged)
        self._arm_unplug()
        path = self.folder / "gammurc"
        path.write_text(plugged)
        return path

    def _arm_unplug(self) -> None:
        (self.folder / "gammurc.unplugged").write_text(
            (self.folder / "gammurc.unplugged.copy").read_text())

    # --- what the radio sent --------------------------------------------------

    def submits(self) -> list[tuple[int, gsm_pdu.Submit]]:
        """(TP-MR the modem gave, decoded SMS-SUBMIT) of every PDU it accepted."""
        path = self.folder / "sent.jsonl"
        if not path.exists():
            return []
        entries = [json.loads(line) for line in path.read_text().splitlines()]
        return [(e["mr"], gsm_pdu.decode_submit(e["pdu"])) for e in entries]

    def texts_to(self, number: str) -> list[str]:
        return [s.text for _, s in self.submits() if s.number == number]

    def dialed(self) -> list[str]:
        path = self.folder / "dialed.log"
        return path.read_text().split() if path.exists() else []

    # --- what the network does ------------------------------------------------

    def _store(self, pdu: str) -> int:
        taken = {int(p.name) for p in (self.folder / "inbox").iterdir() if p.name.isdigit()}
        index = next(i for i in range(1, 1000) if i not in taken)
        _write_atomically(self.folder / "inbox" / str(index), json.dumps({"pdu": pdu, "stat": 0}))
        return index

    def receive(self, sender: str, text: str, *, ucs2: bool | None = None,
                concat: tuple[int, int, int] | None = None,
                at: datetime | None = None) -> int:
        """An SMS-DELIVER stored on the SIM (its index)."""
        at = at or datetime.now(UTC).replace(microsecond=0)
        return self._store(gsm_pdu.encode_deliver(sender, text, at, ucs2=ucs2, concat=concat))

    def status_report(self, reference: int, recipient: str, status: int = 0x00) -> int:
        """An SMS-STATUS-REPORT for the SMS whose TP-MR was `reference`."""
        now = datetime.now(UTC).replace(microsecond=0)
        return self._store(gsm_pdu.encode_status_report(reference, recipient, status, now, now))

    def stored(self) -> list[int]:
        return sorted(int(p.name) for p in (self.folder / "inbox").iterdir() if p.name.isdigit())

    # --- faults ---------------------------------------------------------------

    def refuse(self, number: str, cms_error: int = 500) -> None:
        """Sends to `number` get +CMS ERROR."""
        path = self.folder / "refuse.json"
        refusals = json.loads(path.read_text()) if path.exists() else {}
        refusals[number.lstrip("+")] = cms_error
        _write_atomically(path, json.dumps(refusals))

    def unplug_after(self, sends: int) -> None:
        """The modem is pulled out right after it accepts `sends` more SMS."""
        _write_atomically(self.folder / "unplug_after", str(sends))

    def unplugged(self) -> bool:
        return (self.folder / "unplugged").exists()

    def plug_in(self) -> None:
        _write_atomically(self.folder / "gammurc", (self.folder / "gammurc.plugged").read_text())
        self._arm_unplug()
        (self.folder / "unplugged").unlink(missing_ok=True)

    def ring(self, caller: str) -> None:
        """An incoming call: RING and +CLIP (caller ID), once."""
        _write_atomically(self.folder / "ring", caller)

    def next_reference(self, reference: int) -> None:
        _write_atomically(self.folder / "next_mr", str(reference))


@dataclass
class DummyPhone:
    """Gammu's `dummy` driver: a phone whose memory is a folder (section 7.1)."""

    folder: Path

    def gammurc(self) -> Path:
        (self.folder / "phone").mkdir(parents=True, exist_ok=True)
        path = self.folder / "gammurc"
        path.write_text(
            f"[gammu]\nmodel = dummy\nconnection = none\ndevice = {self.folder / 'phone'}\n"
        )
        return path

    def receive(self, sender: str, text: str, at: datetime | None = None) -> Path:
        """An incoming SMS as an SMS-backup file in the SIM inbox, `sms/1/<n>`
        (section 7.1: another process may write it while the phone runs)."""
        at = at or datetime.now(UTC)
        return self._write(
            [
                "PDU = Deliver",
                "State = UnRead",
                f'Number = "{sender}"',
                'SMSC = "+15550000000"',
                f"DateTime = {at.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                "Coding = Unicode_No_Compression",
                f"Text00 = {text.encode('utf-16-be').hex().upper()}",
                "Folder = 1",
            ]
        )

    def status_report(self, recipient: str, delivered: bool = True,
                      reference: int = 255) -> Path:
        """A delivery report; the dummy's SendSMS always returns reference 255."""
        now = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        return self._write(
            [
                "PDU = Status_Report",
                "State = UnRead",
                f'Number = "{recipient}"',
                'SMSC = "+15550000000"',
                f"DateTime = {now}",
                f"SMSCDateTime = {now}",
                f"MessageReference = {reference}",
                f"DeliveryStatus = {0 if delivered else 0x41}",
                "Coding = Default_No_Compression",
                f"Text00 = {('Delivered' if delivered else 'Failed').encode('utf-16-be').hex()}",
                "Folder = 1",
            ]
        )

    def _write(self, lines: list[str]) -> Path:
        inbox = self.folder / "phone" / "sms" / "1"
        inbox.mkdir(parents=True, exist_ok=True)
        taken = {int(p.name) for p in inbox.iterdir() if p.name.isdigit()}
        path = inbox / str(next(i for i in range(1, 1000) if i not in taken))
        _write_atomically(path, "[SMSBackup000]\n" + "\n".join(lines) + "\n")
        return path

    def inbox(self) -> list[str]:
        inbox = self.folder / "phone" / "sms" / "1"
        return sorted(p.name for p in inbox.iterdir()) if inbox.exists() else []

    def ring(self) -> None:
        """The dummy's incoming call (from +800123456) at its next command."""
        (self.folder / "phone" / "incoming-call").touch()

    def operations(self) -> str:
        path = self.folder / "phone" / "operations.log"
        return path.read_text() if path.exists() else ""
