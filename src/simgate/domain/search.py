"""Folding text for name searches: accents, case and spacing do not count.

"Cécile  DUBOIS" and "cecile dubois" fold alike. Pure, no I/O; the store keeps
each contact's folded name (contacts.search_name) so that a search compares
folded strings only.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case, accents removed, runs of blanks made one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def search_name(firstname: str, lastname: str) -> str:
    return fold(f"{firstname} {lastname}")
