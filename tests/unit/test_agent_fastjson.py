"""The agent's JSON (device/fastjson.py) means what the stdlib's meant, with
orjson or without it (Termux), and falls back where orjson refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simgate.device import fastjson

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # wider than 64 bits too: orjson refuses them
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(params=["orjson", "stdlib"])
def which(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "stdlib":
        monkeypatch.setattr(fastjson, "orjson", None)
    return str(request.param)


@given(value=VALUES)
def test_what_is_written_reads_back_the_same(value: Any) -> None:
    for mode in ("orjson", "stdlib"):
        saved = fastjson.orjson
        if mode == "stdlib":
            fastjson.orjson = None  # type: ignore[assignment]
        try:
            line = fastjson.dumps_line({"k": value})
            text = fastjson.dumps_text({"k": value})
        finally:
            fastjson.orjson = saved
        assert line.endswith(b"\n") and b"\n" not in line[:-1]
        assert json.loads(line) == {"k": value}
        assert fastjson.loads(text) == {"k": value} == json.loads(text)


def test_what_orjson_refuses_goes_to_the_stdlib(which: str) -> None:
    assert fastjson.dumps_line({1: "x"}) == b'{"1": "x"}\n'
    assert json.loads(fastjson.dumps_text({"n": 2**70})) == {"n": 2**70}
    assert fastjson.loads('{"t": "\\ud800", "x": NaN}')["t"] == "\ud800"
    with pytest.raises(UnicodeEncodeError):  # as the journal's text file did
        fastjson.dumps_line({"text": "\ud800"})
    with pytest.raises(ValueError):
        fastjson.loads("{not json")
