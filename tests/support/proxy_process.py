"""What the reverse proxies the tests run (nginx.py, caddy.py) share: a child
process stopped when the test leaves it, and the end of its error log."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import ClassVar, Self

from simgate.testing import stop_process


class ProxyProcess:
    log_name: ClassVar[str]  # its error log, in `folder`
    folder: Path
    proc: subprocess.Popen[bytes] | None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)

    def errors(self) -> str:
        path = self.folder / self.log_name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""
