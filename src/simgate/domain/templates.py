"""Message templates: `{firstname}`, `{lastname}`, `{email}`, `{phone_number}`
and `{custom.NAME}` filled per recipient. Pure, no I/O.

A value comes from the request's own variables first, then from the contact
with the recipient's number (contacts.custom holds the custom fields); the
recipient's number is always there for `{phone_number}`. A variable left
without a value (absent or blank everywhere) is an error for that recipient,
never an empty gap in an SMS. Braces that do not name one of these variables
(`{foo}`, `{ firstname }`, JSON in a message) are plain text and stay as
they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from simgate.domain.numbers import InvalidNumber, to_e164

CONTACT_FIELDS = ("firstname", "lastname", "email", "phone_number")
CUSTOM_PREFIX = "custom."
# A custom field's name: what custom_fields.name holds (64 characters at most).
VARIABLE_RE = re.compile(r"\{(firstname|lastname|email|phone_number|custom\.[A-Za-z0-9_-]{1,64})\}")


class MissingVariable(ValueError):
    """No value for `variable` (its name, e.g. "firstname" or "custom.city")."""

    def __init__(self, variable: str) -> None:
        super().__init__(f"no value for {{{variable}}}: give it in variables or on the contact")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class ContactValues:
    """What a contact offers a template."""

    firstname: str = ""
    lastname: str = ""
    email: str = ""
    custom: Mapping[str, str] = field(default_factory=dict)

    def get(self, variable: str) -> str:
        if variable.startswith(CUSTOM_PREFIX):
            return self.custom.get(variable[len(CUSTOM_PREFIX) :], "")
        value: str = getattr(self, variable, "")
        return value


def variables_of(text: str) -> list[str]:
    """The variables `text` uses, each once, in order of first use."""
    return list(dict.fromkeys(match[1] for match in VARIABLE_RE.finditer(text)))


def has_variables(text: str) -> bool:
    return VARIABLE_RE.search(text) is not None


def render(
    text: str,
    phone_number: str,
    given: Mapping[str, str] | None = None,
    contact: ContactValues | None = None,
) -> str:
    """`text` with every variable filled; MissingVariable names the first one
    without a value."""
    given = given or {}

    def value(match: re.Match[str]) -> str:
        name = match[1]
        found = given.get(name, "")
        if not found.strip() and contact is not None:
            found = contact.get(name)
        if not found.strip() and name == "phone_number":
            found = phone_number
        if not found.strip():
            raise MissingVariable(name)
        return found

    return VARIABLE_RE.sub(value, text)


def parse_custom(raw: str | None) -> dict[str, str]:
    """contacts.custom (a JSON object of name → text) as a dict; anything else
    stored there counts as no custom values."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def given_variables(raw: object) -> dict[str, str]:
    """A request's variables: only a JSON object of strings is valid
    (ValueError says what is wrong); null is none."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("variables must be a JSON object of name → text")
    bad = [key for key, value in raw.items() if not isinstance(value, str)]
    if bad:
        raise ValueError(f"variables.{bad[0]} must be a string")
    if any("\x00" in value for value in raw.values()):
        raise ValueError("variables hold a NUL character")
    return dict(raw)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of a send: the number as given, as E.164, and its variables."""

    raw_number: str
    phone_number: str
    variables: dict[str, str]


@dataclass(frozen=True, slots=True)
class BadRecipient:
    raw_number: str
    missing: bool  # the field is absent (MISSING_FIELD), not wrong (VALIDATION_ERROR)
    field: str
    error: str


def read_recipient(item: object, region: str) -> Recipient | BadRecipient:
    """One item of templates/send's `recipients`: {phone_number, variables}."""
    if not isinstance(item, dict):
        return BadRecipient("", False, "recipients", "each recipient must be a JSON object")
    raw = item.get("phone_number")
    shown = raw if isinstance(raw, str) else ""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return BadRecipient(shown, True, "phone_number", "phone_number is required")
    if not isinstance(raw, str) or len(raw) > 64:
        return BadRecipient(shown, False, "phone_number", "phone_number must be a string")
    try:
        number = to_e164(raw, region)
    except InvalidNumber:
        return BadRecipient(shown, False, "phone_number", f"{raw!r} is not a valid phone number")
    try:
        variables = given_variables(item.get("variables"))
    except ValueError as error:
        return BadRecipient(shown, False, "variables", str(error))
    return Recipient(raw, number, variables)
