"""Pure logic: no I/O, no FastAPI, no SQLAlchemy, no httpx."""
