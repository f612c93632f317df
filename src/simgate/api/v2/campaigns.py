"""v2 endpoints: campaigns (docs/api-v2.md)."""

from __future__ import annotations
