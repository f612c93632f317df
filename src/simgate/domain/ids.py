"""Random identifiers: message ids, short-link codes, webhook event ids, access keys, tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
import threading

BASE62 = string.digits + string.ascii_letters

SHORT_CODE_LENGTH = 11  # 11 base62 characters: about 65 bits
MESSAGE_ID_LENGTH = 15  # the reference's ids look like "FI5O7apqaaqcUmQ"
ACCESS_KEY_PREFIX = "sgk_"
DEVICE_TOKEN_PREFIX = "sgd_"
# The SMS Gateway app's "Private Token": typed (or pasted) into a phone, so
# shorter than a key; 24 base62 characters still carry about 143 bits.
PAIRING_PREFIX = "sgp_"
PAIRING_LENGTH = 24


# Random bytes 0..247 map four to one onto the 62 symbols (uniform); bytes
# 248..255 are dropped rather than folded, which would favour the first 8.
_TO_BASE62 = bytes(ord(BASE62[i % 62]) for i in range(248)) + bytes(8)
_UNEVEN = bytes(range(248, 256))


class _Symbols(threading.local):
    """Base62 symbols drawn from the OS generator in blocks, per thread.

    One read of the OS generator per id was still a system call per message
    in a batch; a block serves some 150 ids. A child process starts with
    none of its parent's symbols (os.register_at_fork), so a fork never
    hands out the same ids twice."""

    def __init__(self) -> None:
        self.block = b""
        self.used = 0


_symbols = _Symbols()
_BLOCK = 4096


def _forget_symbols() -> None:
    global _symbols
    _symbols = _Symbols()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forget_symbols)


def base62(length: int) -> str:
    """A fresh draw: for secrets, which no block should hold before they exist."""
    out = b""
    while len(out) < length:
        out += secrets.token_bytes(length + 4).translate(_TO_BASE62, _UNEVEN)
    return out[:length].decode("ascii")


def _drawn(length: int) -> str:
    """Symbols from this thread's block: for message ids and short codes."""
    state = _symbols
    start = state.used
    if start + length > len(state.block):
        block = b""
        while len(block) < length:
            block += secrets.token_bytes(_BLOCK).translate(_TO_BASE62, _UNEVEN)
        state.block, start = block, 0
    state.used = start + length
    return state.block[start : start + length].decode("ascii")


def short_code() -> str:
    return _drawn(SHORT_CODE_LENGTH)


def message_id() -> str:
    return _drawn(MESSAGE_ID_LENGTH)


def event_id(now: float) -> str:
    """A webhook event id: `msg_`, 12 hex digits of Unix milliseconds (`now`, in
    seconds), 16 random.

    Time first, so that the ids of rows written close in time sit close in the
    unique index: inserts append, and pruning the oldest rows rewrites a few
    index pages rather than one per row (a random id made a prune batch on
    SQLite four times slower). 64 random bits keep ids made in the same
    millisecond, by one node or several, apart.
    """
    millis = int(now * 1000)
    return f"msg_{millis:012x}{secrets.token_hex(8)}"


def new_secret(prefix: str) -> str:
    """A 256-bit secret with a recognisable prefix (for secret scanners and humans)."""
    return prefix + base62(43)


def pairing_secret() -> str:
    return PAIRING_PREFIX + base62(PAIRING_LENGTH)


def hash_secret(secret: str) -> str:
    # Keys carry 256 bits of entropy, so a fast hash is enough: there is no
    # dictionary to attack, and the API hot path stays cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def secret_matches_hash(candidate_hash: str, stored_hash: str) -> bool:
    return hmac.compare_digest(candidate_hash, stored_hash)
