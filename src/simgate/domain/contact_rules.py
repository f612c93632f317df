"""What a contact's tags and custom field names may be (DESIGN section 9).

Pure, no I/O: the v2 API and the dashboard check outside values with these.
"""

from __future__ import annotations

import re
from typing import Final

MAX_TAG_LENGTH: Final = 64
MAX_TAGS_PER_CONTACT: Final = 50
MAX_CUSTOM_VALUE: Final = 500  # characters in one custom value, like a contact's fields
MAX_CUSTOM_FIELDS: Final = 100  # definitions per account
CUSTOM_FIELD_NAME: Final = re.compile(r"[a-z0-9_]{1,64}")


class BadTag(ValueError):
    pass


def clean_tag(raw: str) -> str:
    """A tag as stored: trimmed, lower-cased, blanks made one space. BadTag
    when that leaves nothing, is too long or holds a control character."""
    tag = " ".join(raw.split()).lower()
    if not tag:
        raise BadTag("a tag cannot be empty")
    if len(tag) > MAX_TAG_LENGTH:
        raise BadTag(f"a tag holds at most {MAX_TAG_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in tag):
        raise BadTag("a tag cannot hold control characters")
    return tag


def clean_tags(raw: list[str]) -> list[str]:
    """Each tag cleaned, duplicates dropped, in the order given."""
    seen: dict[str, None] = {}
    for item in raw:
        seen.setdefault(clean_tag(item), None)
    return list(seen)


def is_custom_field_name(name: str) -> bool:
    return CUSTOM_FIELD_NAME.fullmatch(name) is not None
