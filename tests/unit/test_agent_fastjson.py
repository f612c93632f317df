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
    monkeypatch.setattr(fastjson, "_orjson", None)
    if request.param == "orjson":
        assert fastjson.use_orjson()
    return str(request.param)


@pytest.fixture(autouse=True, scope="module")
def orjson_on() -> Any:
    """As the smpp driver's agent runs; restored after."""
    saved = fastjson._orjson
    assert fastjson.use_orjson()
    yield
    fastjson._orjson = saved


@given(value=VALUES)
def test_what_is_written_reads_back_the_same(value: Any) -> None:
    saved = fastjson._orjson
    for mode in ("orjson", "stdlib"):
        fastjson._orjson = saved if mode == "orjson" else None
        try:
            line = fastjson.dumps_line({"k": value})
            text = fastjson.dumps_text({"k": value})
        finally:
            fastjson._orjson = saved
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
