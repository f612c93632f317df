"""The opt-out keyword matcher (domain/optout.py): whole texts only, any
casing, accents, spaces and punctuation."""

from __future__ import annotations

import string
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from simgate.domain import optout
from simgate.domain.optout import DEFAULT_OPTIN, DEFAULT_OPTOUT, match

NOISE = st.text(alphabet=" \t\n!?.,;:-_'\"()*" + "\u00a0", max_size=6)


def _accented(word: str) -> st.SearchStrategy[str]:
    """`word` with each letter in any case, some of them with a combining accent."""
    letters = [
        st.tuples(
            st.sampled_from([ch.lower(), ch.upper()]), st.sampled_from(["", "\u0301", "\u0300"])
        )
        if ch.isalpha()
        else st.just((ch, ""))
        for ch in word
    ]
    return st.tuples(*letters).map(
        lambda parts: unicodedata.normalize("NFC", "".join(a + b for a, b in parts))
    )


@st.composite
def dressed(draw: st.DrawFn, words: tuple[str, ...]) -> tuple[str, str]:
    word = draw(st.sampled_from(words))
    return word, draw(NOISE) + draw(_accented(word)) + draw(NOISE)


def test_the_documented_examples() -> None:
    for text in ("  Stop!! ", "ARRÊT", "stop sms", "Opt-Out.", "arret", "Désabonner", "STOPALL"):
        assert match(text) == "optout", text
    for text in ("start", "Unstop", "Arrêt stop", "subscribe."):
        assert match(text) == "optin", text


@given(dressed(DEFAULT_OPTOUT))
def test_any_casing_accents_and_punctuation_of_an_optout_word_match(case: tuple[str, str]) -> None:
    _, text = case
    assert match(text) == "optout"


@given(dressed(DEFAULT_OPTIN))
def test_any_dressing_of_an_optin_word_matches(case: tuple[str, str]) -> None:
    _, text = case
    # "ARRET STOP" is an opt-in even though it starts with an opt-out word.
    assert match(text) == "optin"


@given(
    st.sampled_from(DEFAULT_OPTOUT),
    st.sampled_from(["please don't ", "I want to ", "no ", "why "]),
    st.sampled_from(["", " now", " please", " it"]),
)
def test_a_keyword_inside_a_sentence_does_not_match(word: str, before: str, after: str) -> None:
    assert match(before + word + after) is None


@given(st.text(max_size=300))
def test_no_input_raises(text: str) -> None:
    assert match(text) in (None, "optout", "optin")


@given(st.text(alphabet=string.punctuation + " ", max_size=20))
def test_punctuation_alone_is_no_keyword(text: str) -> None:
    assert match(text) is None


def test_an_accounts_own_lists_replace_the_defaults() -> None:
    own_out, own_in = ("Basta",), ("Encore",)
    assert match("basta!", own_out, own_in) == "optout"
    assert match("ENCORE", own_out, own_in) == "optin"
    assert match("stop", own_out, own_in) is None
    assert match("start", own_out, own_in) is None
    assert match("stop", (), ()) is None  # empty lists: nothing matches


def test_a_word_on_both_lists_opts_out() -> None:
    assert match("stop", ("stop",), ("stop",)) == "optout"


def test_lists_are_folded_once() -> None:
    optout.folded.cache_clear()
    for _ in range(50):
        match("hello there")
    info = optout.folded.cache_info()
    assert info.misses == 2 and info.hits == 98  # the two default lists


def test_common_words_are_not_opt_in() -> None:
    for text in ("yes", "ok", "oui", "stop it", "thanks"):
        assert match(text) is None
