"""v2 endpoints: calls (docs/api-v2.md)."""

from __future__ import annotations
