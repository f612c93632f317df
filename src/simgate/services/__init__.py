"""Use cases. Each takes an Engine, works in one transaction, writes its outbox rows.

The edges (`api/`, `web/`) hand a use case the engine their `Runtime` holds
(`runtime.engine`) without naming its type: they import nothing of the store
or SQLAlchemy, not even through this package (tests/unit/test_layers.py).
"""
