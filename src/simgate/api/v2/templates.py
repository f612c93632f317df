"""v2 endpoints: templates (docs/api-v2.md)."""

from __future__ import annotations
