"""v2 endpoints: sms (docs/api-v2.md)."""

from __future__ import annotations
