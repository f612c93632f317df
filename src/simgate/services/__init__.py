"""Use cases. Each takes an Engine, works in one transaction, writes its outbox rows.

`Engine` is named here for the edges (`api/`, `web/`): they hold the store's
engine only to hand it to a use case, and import nothing of the store.
"""

from sqlalchemy import Engine

__all__ = ["Engine"]
