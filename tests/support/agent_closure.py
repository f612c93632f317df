"""Run the `simgate` command line the way a Termux phone could: only some
packages installed, and no compiled extension module outside the standard
library.

`python -c "from tests.support.agent_closure import main; main()" SPEC -- ARGS`
installs an import guard, then runs `simgate ARGS` in this process. SPEC is a
JSON file: `allowed` (distributions that would be installed), `report` (where
to write, at exit, what was loaded and what was refused). The guard refuses,
as ModuleNotFoundError (what an absent package looks like), any module of an
installed distribution outside `allowed`, and any compiled extension outside
the standard library, so optional accelerators fall back to pure Python as
they would on the phone (websockets' `speedups` does).

Standard library only: this runs before anything is imported.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import importlib.metadata
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

STDLIB = os.path.dirname(os.__file__) + os.sep
EXTENSIONS = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def is_compiled(path: str | None) -> bool:
    return bool(path) and str(path).endswith(EXTENSIONS)


def in_stdlib(path: str | None) -> bool:
    text = str(path or "")
    return text.startswith(STDLIB) and "site-packages" not in text


class Guard(importlib.abc.MetaPathFinder):
    def __init__(self, allowed: set[str]) -> None:
        self.allowed = {name.lower().replace("_", "-") for name in allowed}
        self.owners = importlib.metadata.packages_distributions()
        self.refused: list[str] = []

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        owners = {d.lower().replace("_", "-") for d in self.owners.get(name.partition(".")[0], [])}
        if owners and not owners & self.allowed:
            self._refuse(name)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and is_compiled(spec.origin) and not in_stdlib(spec.origin):
            self._refuse(name)
        return None  # not refused: the usual finders import it

    def _refuse(self, name: str) -> None:
        self.refused.append(name)
        raise ModuleNotFoundError(f"No module named {name!r} (not on the phone)", name=name)


def main() -> None:
    spec_path, separator, *args = sys.argv[1:]
    assert separator == "--"
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text())
    before = set(sys.modules)
    guard = Guard(set(spec["allowed"]))
    sys.meta_path.insert(0, guard)

    def report() -> None:
        loaded = {
            name: getattr(module, "__file__", None)
            for name, module in list(sys.modules.items())
            if name not in before
        }

        def owners(names: list[str]) -> dict[str, list[str]]:
            return {name: guard.owners.get(name.partition(".")[0], []) for name in names}

        result = {
            "loaded": loaded,
            "owners": owners(list(loaded)),
            "refused": owners(guard.refused),
        }
        Path(spec["report"]).write_text(json.dumps(result))

    atexit.register(report)
    from simgate.cli import main as simgate

    simgate(args, prog_name="simgate")
