"""Property tests for the dashboard's readers of query parameters and form fields.

Whatever a visitor types, each reader answers a value or its documented
refusal; no exception escapes (an escaped one is a 500).
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from hypothesis import example, given
from hypothesis import strategies as st

from simgate.web.auth import safe_next

# Text built from what breaks URL checks: dots, slashes, percent signs, controls.
PIECES = ["/app/", "/", ".", "..", "\\", "%", "%2e", "%2E", "%25", "2e", "2f", "%09", "x"]
PIECES += ["?", "#", ":", "@", "\t", "\n", "\x00", "\x85", "²"]
URLISH = st.lists(st.sampled_from(PIECES), max_size=12).map("".join) | st.text(max_size=40)


@given(URLISH)
@example("/app/%252e%252e/CODE")
@example("/app/%2E./CODE")
def test_safe_next_stays_inside_the_dashboard(raw: str) -> None:
    target = safe_next(raw)
    assert target in (raw, "/app/")
    # However often a browser or proxy decodes it, the path stays under /app/.
    decoded = target
    for _ in range(5):
        decoded = unquote(decoded)
    path = decoded.split("?")[0].split("#")[0]
    assert posixpath.normpath(path).startswith("/app")
    assert "\\" not in decoded and "//" not in decoded
    assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in decoded)
