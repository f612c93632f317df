"""v2 endpoints: lists (docs/api-v2.md)."""

from __future__ import annotations
