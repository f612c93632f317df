"""Property tests for the dashboard's readers of query parameters and form fields.

Whatever a visitor types, each reader answers a value or its documented
refusal; no exception escapes (an escaped one is a 500).
"""

from __future__ import annotations

import posixpath
from datetime import datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from hypothesis import example, given
from hypothesis import strategies as st

from simgate.domain.dates import InvalidDate, parse_send_date
from simgate.web.auth import safe_next
from simgate.web.pages import _day
from simgate.web.setup import parse_rate

# The zones furthest from UTC either way, where the calendar's ends overflow first.
ZONES = st.sampled_from(["Pacific/Kiritimati", "Etc/GMT+12", "Europe/Paris", "UTC"]).map(ZoneInfo)
# Digits of every script (str.isdigit() takes them, int() not all), signs, spaces.
NUMBERISH = st.text(alphabet=st.sampled_from(list("0123456789²³¹٣๓①-+ ._e")), max_size=8)
DATEISH = (
    st.dates().map(lambda d: d.isoformat())
    | st.datetimes().map(lambda d: d.isoformat(sep=" "))
    | st.text(alphabet=st.sampled_from(list("0123456789-:T Z+²")), max_size=26)
    | st.text(max_size=30)
)

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


@given(NUMBERISH | st.text(max_size=12))
@example("²")
@example(" 060 ")
def test_rate_is_a_rate_or_refused(raw: str) -> None:
    rate = parse_rate(raw)
    text = raw.strip()
    assert rate is None or (1 <= rate <= 10_000 and text.isascii() and int(text) == rate)


@given(DATEISH, ZONES, st.booleans())
@example("0001-01-01", ZoneInfo("Pacific/Kiritimati"), False)
@example("9999-12-31", ZoneInfo("Etc/GMT+12"), True)
def test_day_filter_answers_a_bound_or_an_error(raw: str, tz: ZoneInfo, end: bool) -> None:
    bound, error = _day(raw, tz, end)
    assert (bound is None) != (error == "") or raw == ""
    assert bound is None or isinstance(bound, datetime) and bound.tzinfo is None


@given(DATEISH, ZONES)
@example("0001-01-01 00:00:00", ZoneInfo("Europe/Paris"))
@example("9999-12-31T23:59:59-05:00", ZoneInfo("UTC"))
def test_send_time_is_a_date_or_invalid(raw: str, tz: ZoneInfo) -> None:
    try:
        moment = parse_send_date(raw, tz)
    except InvalidDate:
        return
    assert moment is None or moment.tzinfo is None
