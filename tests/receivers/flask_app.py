"""The inSIM reference's Flask webhook handler, as documented, plus a log for the tests.

`/webhook` is the reference's handler: it decodes the parameter a second time
with `unquote`, as the document shows. `/once` is the same handler with the
one-line fix (no second decode). Each decoded payload, or the error the
handler hit, is appended to `log`, along with the raw request line so that
tests can compare bytes.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

from flask import Flask, request
from werkzeug.serving import make_server

KINDS = ("message", "calls", "clics", "status", "qualification")


def create_app(log: list[dict[str, Any]]) -> Flask:
    app = Flask(__name__)

    def record(kind: str, parsed: Any = None, error: str | None = None) -> None:
        log.append(
            {
                "route": request.path,
                "raw_query": request.query_string.decode("ascii"),
                "kind": kind,
                "once": request.args.get(kind),
                "parsed": parsed,
                "error": error,
                "headers": dict(request.headers),
            }
        )

    @app.route("/webhook", methods=["GET"])
    def webhook() -> Any:
        # The reference's handler: json.loads(unquote(request.args.get(KIND))).
        for kind in KINDS:
            if kind in request.args:
                try:
                    payload = json.loads(unquote(request.args.get(kind)))  # type: ignore[arg-type]
                except Exception as exc:
                    record(kind, error=type(exc).__name__)
                    raise
                record(kind, parsed=payload)
                return "OK", 200
        return "No webhook data", 400

    @app.route("/once", methods=["GET"])
    def once() -> Any:
        # The fix: Flask has already decoded the parameter once; parse it as is.
        for kind in KINDS:
            if kind in request.args:
                payload = json.loads(request.args[kind])
                record(kind, parsed=payload)
                return "OK", 200
        return "No webhook data", 400

    return app


class FlaskReceiver:
    """The Flask app under werkzeug's threaded server on a loopback port."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self._server = make_server("127.0.0.1", 0, create_app(self.log), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    def __enter__(self) -> FlaskReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def entries(self) -> list[dict[str, Any]]:
        return list(self.log)
