"""Use cases. Each takes an Engine, works in one transaction, writes its outbox rows."""
