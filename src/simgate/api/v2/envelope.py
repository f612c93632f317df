"""The v2 envelope: one JSON object in, `{"success": ...}` out.

Every endpoint is `POST /api/v2/<name>` with `login` and `accessKey` beside its
parameters (reference/insim-v2-api.md section 4). An endpoint is an async
function of a `Call`, registered with `@endpoint(name)`; it returns the answer's
fields and `success: true` is put first. Services raise simgate.errors; here
they become the contract's error body with a fitting 4xx status:

    401 INVALID_CREDENTIALS   404 NOT_FOUND          409 INVALID_STATE
    413 PAYLOAD_TOO_LARGE     422 VALIDATION_ERROR / MISSING_FIELD
    429 RATE_LIMIT_EXCEEDED   400 INVALID_JSON (the body is not a JSON object)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import anyio.to_thread

from simgate.domain import cursors
from simgate.domain.dates import InvalidDate, local_text, parse_send_date
from simgate.domain.numbers import InvalidNumber, to_e164
from simgate.errors import Invalid, Missing, NotFound
from simgate.runtime import Runtime
from simgate.services.accounts import Account

P = ParamSpec("P")
T = TypeVar("T")

MAX_TEXT_FIELD = 5000  # characters in a free-text field (a message, a description)
MAX_NAME_FIELD = 200  # characters in a name or label
MAX_LIMIT = 100  # items per page, the range the sibling clients document
MAX_ID_LENGTH = 64


@dataclass(slots=True)
class Call:
    """One authenticated v2 request."""

    runtime: Runtime
    account: Account
    params: Params

    async def sync(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a (blocking) service function in a worker thread."""
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    def local(self, moment: datetime | None) -> str | None:
        """A stored naive-UTC time as the answers give it (account's zone)."""
        return None if moment is None else local_text(moment, self.account.tz)


Handler = Callable[[Call], Awaitable[dict[str, Any]]]
ENDPOINTS: dict[str, Handler] = {}


def endpoint(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        assert name not in ENDPOINTS, name
        ENDPOINTS[name] = handler
        return handler

    return register


def object_id(value: int | str) -> str:
    """Ids are opaque strings on the wire (DESIGN section 9)."""
    return str(value)


class Params:
    """The request's own fields, each read with its type, range and field name
    checked (a wrong value raises Invalid/Missing naming the field)."""

    def __init__(self, data: dict[str, Any], region: str, tz: ZoneInfo) -> None:
        self.data = data
        self.region = region
        self.tz = tz

    def cursor(self, size: int) -> list[Any] | None:
        """The request's `cursor` (from a previous answer's `next_cursor`)."""
        raw = self.text("cursor", max_length=cursors.MAX_CURSOR_LENGTH).strip()
        if not raw:
            return None
        try:
            return cursors.decode(raw, size)
        except cursors.InvalidCursor as error:
            raise Invalid("cursor", f"cursor: {error}") from None

    def has(self, name: str) -> bool:
        return name in self.data

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int = MAX_TEXT_FIELD,
        default: str = "",
    ) -> str:
        """A string; absent or null is `default` (or Missing when required)."""
        value = self.data.get(name)
        if value is None:
            if required:
                raise Missing(name)
            return default
        return check_text(name, value, max_length, required)

    def name(self, name: str, *, required: bool = False) -> str:
        return self.text(name, required=required, max_length=MAX_NAME_FIELD).strip()

    def id(self, name: str, *, wide: bool = False) -> int:
        """An id sent as a string (or number); one that cannot exist is
        NOT_FOUND. `wide`: a 64-bit key (calls, messages), else a 32-bit one."""
        value = self.data.get(name)
        if value is None or value == "":
            raise Missing(name)
        return parse_id(name, value, wide=wide)

    def ids(
        self, name: str, *, max_items: int = 1000, required: bool = True, wide: bool = False
    ) -> list[int]:
        values = self.array(name, max_items=max_items, required=required)
        return [parse_id(name, value, wide=wide) for value in values]

    def array(self, name: str, *, max_items: int = 1000, required: bool = False) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            if required:
                raise Missing(name)
            return []
        if not isinstance(value, list):
            raise Invalid(name, f"{name} must be a JSON array")
        if len(value) > max_items:
            raise Invalid(name, f"{name} holds {len(value)} items; at most {max_items}")
        return value

    def strings(
        self,
        name: str,
        *,
        max_items: int = 1000,
        max_length: int = MAX_NAME_FIELD,
        required: bool = False,
    ) -> list[str]:
        return [
            check_text(name, item, max_length, False)
            for item in self.array(name, max_items=max_items, required=required)
        ]

    def limit(self, default: int, *, maximum: int = MAX_LIMIT) -> int:
        value = self.data.get("limit", default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid("limit", "limit must be an integer")
        if not 1 <= value <= maximum:
            raise Invalid("limit", f"limit must be between 1 and {maximum}")
        return value

    def boolean(self, name: str, *, default: bool | None = None) -> bool:
        value = self.data.get(name)
        if value is None:
            if default is None:
                raise Missing(name)
            return default
        if not isinstance(value, bool):
            raise Invalid(name, f"{name} must be true or false")
        return value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(name, f"{name} must be an integer")
        if not lo <= value <= hi:
            raise Invalid(name, f"{name} must be between {lo} and {hi}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if value not in choices:
            raise Invalid(name, f"{name} must be one of {', '.join(choices)}")
        assert isinstance(value, str)
        return value

    def phone(self, name: str, *, required: bool = True) -> str | None:
        """A number in any format the account's region reads, as E.164."""
        raw = self.text(name, required=required, max_length=64).strip()
        if not raw:
            if required:
                raise Missing(name)
            return None
        try:
            return to_e164(raw, self.region)
        except InvalidNumber:
            raise Invalid(name, f"{raw!r} is not a valid phone number") from None

    def date(self, name: str, *, end: bool = False) -> datetime | None:
        """A date bound as naive UTC; `""` or absent is no bound. A bare
        `YYYY-MM-DD` is that whole day in the account's zone: its start, or with
        `end` the start of the next day (bounds are half-open: < end)."""
        raw = self.text(name, max_length=64).strip()
        if not raw:
            return None
        bare_day = len(raw) == 10 and raw[4] == "-" and raw[7] == "-"
        try:
            moment = parse_send_date(raw + " 00:00:00" if bare_day else raw, self.tz)
        except InvalidDate as error:
            raise Invalid(name, f"{name}: {error} (use YYYY-MM-DD)") from None
        assert moment is not None
        if bare_day and end:
            moment += timedelta(days=1)
        return moment


def check_text(name: str, value: Any, max_length: int, required: bool) -> str:
    if not isinstance(value, str):
        raise Invalid(name, f"{name} must be a string")
    if "\x00" in value:
        raise Invalid(name, f"{name} holds a NUL character")
    if len(value) > max_length:
        raise Invalid(name, f"{name} is longer than {max_length} characters")
    if required and not value.strip():
        raise Missing(name)
    return value


# Largest key of each kind of table: INTEGER keys (accounts, contacts, lists,
# templates, campaigns, options) and BIGINT ones (calls, messages). PostgreSQL
# refuses to compare an INTEGER column with a larger number (the driver casts
# the parameter to the column's type), so a larger id is answered NOT_FOUND here.
MAX_KEY = 2**31 - 1
MAX_WIDE_KEY = 2**63 - 1


def parse_id(name: str, value: Any, *, wide: bool = False) -> int:
    if isinstance(value, bool):
        raise Invalid(name, f"{name} must be an id string")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise NotFound(f"no {name} {value[:MAX_ID_LENGTH]!r}", field=name)
        number = int(text)
    else:
        raise Invalid(name, f"{name} must be an id string")
    if not 0 < number <= (MAX_WIDE_KEY if wide else MAX_KEY):
        raise NotFound(f"no {name} {value!r}", field=name)
    return number
