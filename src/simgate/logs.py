"""Logging for `simgate serve`: readable lines, or one JSON object per line.

`configure(settings)` sets the root logger up once, from the entry point
(cli.py); uvicorn's own loggers pass through it too when the format is json
(`uvicorn_log_config`). A JSON line holds the time (UTC), level, logger and
message, the request id and account id of the request being served when
there is one, the record's structured fields (`extra=`) and, for an error,
the traceback. The request id and account id are context variables set by
api/observed.py and by the code that learns the account (`bind_account`):
they follow the request into the worker threads it calls.

Never a secret: simgate's modules log no key, token, password or message
body (STYLE.md); fields named like a secret are dropped here all the same,
and uvicorn's access lines keep the path without its query string, where a
v1 client may put its key.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

import orjson

from simgate.config import Settings

request_id: ContextVar[str | None] = ContextVar("simgate_request_id", default=None)
account_id: ContextVar[int | None] = ContextVar("simgate_account_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Fields of a LogRecord itself, not `extra=` ones.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
# An `extra=` field whose name holds one of these is never written.
_SECRET_WORDS = ("key", "token", "password", "secret", "authorization", "cookie", "body")


def bind_account(account: int) -> None:
    """The request being served is this account's (for its log lines)."""
    account_id.set(account)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line |= _access_fields(record.args)
        else:
            line["message"] = record.getMessage()
        rid, aid = request_id.get(), account_id.get()
        if rid is not None:
            line["request_id"] = rid
        if aid is not None:
            line.setdefault("account_id", aid)
        for name, value in vars(record).items():
            if name in _RECORD_FIELDS or name in line or _secret(name):
                continue
            line[name] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


def _access_fields(args: tuple[Any, ...]) -> dict[str, Any]:
    # uvicorn's access record: (client address, method, path with query, HTTP version, status).
    try:
        client, method, full_path, _version, status = args
    except ValueError:
        return {"message": " ".join(map(str, args))}
    path = str(full_path).split("?", 1)[0]
    return {
        "message": f"{method} {path} {status}",
        "method": method,
        "path": path,
        "status": status,
        "client": client,
    }


def _secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def configure(settings: Settings, level: int = logging.INFO) -> None:
    """Set the root logger up for `settings.log_format` (stderr, INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations say nothing useful at INFO


def uvicorn_log_config(settings: Settings) -> dict[str, Any]:
    """The `log_config` argument of uvicorn.run: its own handlers and format
    for text; for json none, so that its records reach the root's handler."""
    if settings.log_format == "json":
        return {"log_config": None}
    return {}
