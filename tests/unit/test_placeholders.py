"""Tracked-link placeholders."""

from __future__ import annotations

import pytest

from simgate.domain.placeholders import has_placeholder, render

LINK = "http://sms.example/abcdEFGH123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello [Lien_Tracking]", f"Hello {LINK}"),
        ("Hello [link]", f"Hello {LINK}"),
        ("[link] first", f"{LINK} first"),
        ("See [Lien_Tracking] now", f"See {LINK} now"),
        ("twice [link] and [Lien_Tracking]", f"twice {LINK} and {LINK}"),
        ("case [LINK] [lien_tracking]", f"case {LINK} {LINK}"),
    ],
)
def test_placeholder_replaced_by_link(text: str, expected: str) -> None:
    assert has_placeholder(text)
    assert render(text, LINK) == expected


def test_url_without_placeholder_is_appended_after_a_space() -> None:
    assert not has_placeholder("Hello")
    assert render("Hello", LINK) == f"Hello {LINK}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello from InSim API [Lien_Tracking]", "Hello from InSim API"),
        ("See [link] now", "See now"),
        ("[link] first", "first"),
        ("line one [link]\nline two", "line one\nline two"),
        ("keep  my  spacing [link]", "keep  my  spacing"),
        ("no placeholder", "no placeholder"),
    ],
)
def test_placeholder_without_url_is_removed(text: str, expected: str) -> None:
    assert render(text, None) == expected


def test_text_without_placeholder_or_url_is_unchanged() -> None:
    assert render("  spaced  text \n", None) == "  spaced  text \n"


def test_other_brackets_are_left_alone() -> None:
    assert not has_placeholder("[Lien] [links] [url]")
    assert render("[Lien] [links] [url]", None) == "[Lien] [links] [url]"
