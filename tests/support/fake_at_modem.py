"""A fake GSM modem that speaks AT commands on its stdin and stdout.

Gammu's `proxyat` connection runs its `device` setting as a shell command and
talks AT over the command's stdin/stdout (shared/reference/gammu.md section
2 and 7.2), so this script stands in for a USB modem while libGammu's real
AT driver and PDU codec run. Usage, as a gammurc `device` line:

    device = /path/to/python /path/to/fake_at_modem.py STATE_DIR

Everything a test sets up or looks at lives in STATE_DIR (see `FakeModem` in
tests/support/gammu_standins.py, the test side):

    inbox/<index>   one stored message: {"pdu": hex incl. SMSC, "stat": 0 or 1}
    sent.jsonl      every SMS-SUBMIT accepted: {"mr": n, "pdu": hex}
    dialed.log      every number dialled (ATD)
    next_mr         the next TP-Message-Reference the modem assigns (wraps at 256)
    refuse.json     {"<recipient digits>": <+CMS ERROR code>}: sends it refuses
    unplug_after    sends it accepts before it "is unplugged" (exits)
    unplugged       while present the modem is absent: the script exits at once
    gammurc.unplugged  put in place of gammurc when the modem is pulled out
    ring            holds a caller's number: the modem rings (RING, +CLIP) once
    at.log          the AT transcript, for debugging a test
"""

from __future__ import annotations

import json
import os
import select
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gsm_pdu import decode_submit, tpdu_length  # noqa: E402

SMSC = "+15550000000"
CAPACITY = 30


class Modem:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.inbox = folder / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.buffer = b""
        self.pdu_length: int | None = None  # set while reading a PDU after AT+CMGS
        self.log = open(folder / "at.log", "ab")  # noqa: SIM115

    # --- the wire -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self.log.write(b"<< " + data + b"\n")
        self.log.flush()
        os.write(1, data)

    def reply(self, *lines: str, final: str = "OK") -> None:
        # Section 7.2: "\r\n<info line>\r\n\r\nOK\r\n", or "\r\nOK\r\n".
        body = "".join(f"\r\n{line}\r\n" for line in lines)
        self.write((body + f"\r\n{final}\r\n").encode("latin-1"))

    def feed(self, data: bytes) -> None:
        self.log.write(b">> " + data + b"\n")
        self.buffer += data
        while True:
            if self.pdu_length is not None:
                if b"\x1b" in self.buffer:  # escape: the sender gave up the SMS
                    self.buffer = self.buffer.split(b"\x1b", 1)[1]
                    self.pdu_length = None
                    continue
                if b"\x1a" not in self.buffer:
                    return
                pdu, self.buffer = self.buffer.split(b"\x1a", 1)
                self.pdu_length = None
                self.submit(pdu.decode("ascii").strip())
                continue
            # Section 7.2: do not answer ESC CR (sent to leave SMS-entry mode).
            self.buffer = self.buffer.replace(b"\x1b", b"")
            if b"\r" not in self.buffer:
                return
            line, self.buffer = self.buffer.split(b"\r", 1)
            command = line.decode("latin-1").strip("\n").strip()
            if not command:
                continue
            self.write(command.encode("latin-1") + b"\r")  # echo (ATE1)
            self.command(command)

    # --- commands -------------------------------------------------------------

    def command(self, cmd: str) -> None:
        upper = cmd.upper()
        fixed = {
            "AT+CGMI": ["simgate-test"],
            "AT+CGMM": ["FAKE-AT-1"],
            "AT+CGMR": ["1.0"],
            "AT+CGSN": ["490154203237518"],
            "AT+CIMI": ["001010123456789"],
            "AT+CSCS?": ['+CSCS: "GSM"'],
            "AT+CSCS=?": ['+CSCS: ("GSM","UCS2","IRA")'],
            # The addendum: test commands need real answers.
            "AT+CNMI=?": ["+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"],
            "AT+CMGF=?": ["+CMGF: (0)"],
            "AT+CPMS=?": ['+CPMS: ("SM"),("SM"),("SM")'],
            "AT+CSCA?": [f'+CSCA: "{SMSC}",145'],
            "AT+CSQ": ["+CSQ: 20,99"],
            "AT+CPIN?": ["+CPIN: READY"],
            "AT+CREG?": ["+CREG: 0,1"],
            "AT+COPS?": ['+COPS: 0,0,"Fake Network"'],
            "AT+CMGL=?": ["+CMGL: (0-4)"],
        }
        if upper in fixed:
            self.reply(*fixed[upper])
        elif upper == "AT+MODE=2":
            # The addendum: OK here makes libGammu switch to Motorola mode.
            self.reply(final="ERROR")
        elif upper.startswith("AT+CPMS="):
            used = len(self.stored())
            self.reply(f"+CPMS: {used},{CAPACITY},{used},{CAPACITY},{used},{CAPACITY}")
        elif upper == "AT+CPMS?":
            used = len(self.stored())
            self.reply(f'+CPMS: "SM",{used},{CAPACITY},"SM",{used},{CAPACITY},'
                       f'"SM",{used},{CAPACITY}')
        elif upper.startswith("AT+CMGS="):
            self.pdu_length = int(cmd.split("=", 1)[1])
            self.write(b"\r\n> ")
        elif upper.startswith("AT+CMGL"):
            lines = []
            for index, entry in self.stored().items():
                pdu = entry["pdu"]
                lines += [f"+CMGL: {index},{entry['stat']},,{tpdu_length(pdu)}", pdu]
            self.reply(*lines)
        elif upper.startswith("AT+CMGR="):
            entry = self.stored().get(int(cmd.split("=", 1)[1]))
            if entry is None:
                self.reply(final="+CMS ERROR: 321")
            else:
                pdu = entry["pdu"]
                self.reply(f"+CMGR: {entry['stat']},,{tpdu_length(pdu)}", pdu)
        elif upper.startswith("AT+CMGD="):
            index = int(cmd.split("=", 1)[1].split(",")[0])
            (self.inbox / str(index)).unlink(missing_ok=True)
            self.reply()
        elif upper.startswith("ATD"):
            with open(self.folder / "dialed.log", "a", encoding="utf-8") as log:
                log.write(cmd[3:].rstrip(";").lstrip("TPtp") + "\n")
            self.reply()
        else:
            self.reply()  # section 7.2: unknown commands -> OK is fine

    def stored(self) -> dict[int, dict[str, object]]:
        found = {}
        for path in self.inbox.iterdir():
            if path.name.isdigit():
                found[int(path.name)] = json.loads(path.read_text())
        return dict(sorted(found.items()))

    def submit(self, pdu: str) -> None:
        number = decode_submit(pdu).number
        refusals = self._json("refuse.json", {})
        code = refusals.get(number.lstrip("+"))
        if code is not None:
            self.reply(final=f"+CMS ERROR: {code}")
            return
        mr_path = self.folder / "next_mr"
        mr = int(mr_path.read_text()) if mr_path.exists() else 1
        mr_path.write_text(str((mr + 1) % 256))
        with open(self.folder / "sent.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps({"mr": mr, "pdu": pdu}) + "\n")
        self.reply(f"+CMGS: {mr}")
        unplug = self.folder / "unplug_after"
        if unplug.exists():
            left = int(unplug.read_text()) - 1
            if left <= 0:
                unplug.unlink()
                (self.folder / "unplugged").touch()
                # Pulled out of the USB port: the port itself is gone, as
                # /dev/ttyUSB0 vanishes (the test side's gammurc.unplugged).
                absent = self.folder / "gammurc.unplugged"
                if absent.exists():
                    os.replace(absent, self.folder / "gammurc")
                sys.exit(0)
            unplug.write_text(str(left))

    def unsolicited(self) -> None:
        ring = self.folder / "ring"
        if ring.exists():
            number = ring.read_text().strip()
            ring.unlink()
            self.write(f'\r\nRING\r\n\r\n+CLIP: "{number}",145,,,,0\r\n'.encode())

    def _json(self, name: str, default: dict[str, int]) -> dict[str, int]:
        path = self.folder / name
        return json.loads(path.read_text()) if path.exists() else default


def main() -> None:
    folder = Path(sys.argv[1])
    if (folder / "unplugged").exists():
        sys.exit(1)  # no modem on this port
    modem = Modem(folder)
    while True:
        ready, _, _ = select.select([0], [], [], 0.05)
        if ready:
            data = os.read(0, 4096)
            if not data:
                return  # libGammu closed the port
            modem.feed(data)
        else:
            modem.unsolicited()
        if (folder / "unplugged").exists():
            return


if __name__ == "__main__":
    main()

