"""JSON on the agent's hot path: orjson when it is installed, else the stdlib.

Every SMS an SMPP bind sends costs the agent a dozen JSON lines and frames;
the stdlib's encoder takes ~5 us for one, orjson ~0.3 us. orjson is a
dependency of simgate, but the agent must also run with pure-Python packages
(Termux, docs/phones/termux.md), so it stays optional here. Whatever orjson
refuses (a lone surrogate, a number wider than 64 bits, a key that is not a
string, NaN on the way in) goes to the stdlib, which answers as it always did.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the Termux case
    orjson = None  # type: ignore[assignment]

__all__ = ["dumps_line", "dumps_text", "loads"]


def dumps_line(entry: Any) -> bytes:
    """`entry` as one line of a JSON-lines file: UTF-8, ending with a newline."""
    if orjson is not None:
        try:
            return orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")


def dumps_text(frame: Any) -> str:
    """`frame` as compact JSON text (a WebSocket text frame)."""
    if orjson is not None:
        try:
            return orjson.dumps(frame).decode("utf-8")
        except TypeError:
            pass
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def loads(raw: str | bytes) -> Any:
    if orjson is not None:
        try:
            return orjson.loads(raw)
        except ValueError:  # orjson.JSONDecodeError
            pass
    return json.loads(raw)
