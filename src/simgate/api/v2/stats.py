"""v2 endpoints: stats (docs/api-v2.md)."""

from __future__ import annotations
