"""v2 endpoints: contacts (docs/api-v2.md)."""

from __future__ import annotations
