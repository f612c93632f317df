"""JSON on the agent's hot path: orjson when asked for and installed, else the stdlib.

Every SMS an SMPP bind sends costs the agent a dozen JSON lines and frames;
the stdlib's encoder takes ~5 us for one, orjson ~0.3 us. orjson is a
dependency of simgate, but the agent must also run with pure-Python packages
(Termux, docs/phones/termux.md), and tests/devices/test_termux_e2e.py holds
it to that: it may not even try to import a server-only package. So the
stdlib is the default, and `use_orjson()` is called only for a driver fast
enough for it to matter (smpp, in device/cli.py). Whatever orjson refuses (a
lone surrogate, a number wider than 64 bits, a key that is not a string, NaN
on the way in) goes to the stdlib, which answers as it always did.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps_line", "dumps_text", "loads", "use_orjson"]

_orjson: Any = None  # the module, once use_orjson() found it


def use_orjson() -> bool:
    """Encode and decode with orjson from now on, if it is installed."""
    global _orjson
    try:
        import orjson
    except ImportError:
        return False
    _orjson = orjson
    return True


def dumps_line(entry: Any) -> bytes:
    """`entry` as one line of a JSON-lines file: UTF-8, ending with a newline."""
    if _orjson is not None:
        try:
            return bytes(_orjson.dumps(entry, option=_orjson.OPT_APPEND_NEWLINE))
        except TypeError:  # orjson.JSONEncodeError
            pass
    return (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")


def dumps_text(frame: Any) -> str:
    """`frame` as compact JSON text (a WebSocket text frame)."""
    if _orjson is not None:
        try:
            return str(_orjson.dumps(frame).decode("utf-8"))
        except TypeError:
            pass
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def loads(raw: str | bytes) -> Any:
    if _orjson is not None:
        try:
            return _orjson.loads(raw)
        except ValueError:  # orjson.JSONDecodeError
            pass
    return json.loads(raw)
