"""Options and helpers shared by every command group of the command line."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click


def store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder of the embedded SQLite store [env SIMGATE_DATA_DIR; default ./simgate-data].",
    )
    @click.option(
        "--database-url",
        default=None,
        help="postgresql://user:pass@host/db to use PostgreSQL [env SIMGATE_DATABASE_URL].",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, data_dir: Path | None, database_url: str | None, **kw: Any) -> Any:
        overrides: dict[str, Any] = {}
        if data_dir is not None:
            overrides["data_dir"] = data_dir
        if database_url is not None:
            overrides["database_url"] = database_url
        return func(*args, overrides=overrides, **kw)

    return wrapper


def load_settings(overrides: dict[str, Any]) -> Any:
    """Settings from `overrides` (flags) and the environment; a wrong value ends
    the command with one line naming the variable (or flag) and what is wrong."""
    from pydantic import ValidationError

    from simgate.config import Settings

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            describe_problem(error, overrides) for error in exc.errors(include_url=False)
        )
        click.echo(f"error: bad setting {problems}", err=True)
        sys.exit(2)  # as click does for a wrong flag


def describe_problem(error: Any, overrides: dict[str, Any]) -> str:
    """`name (SIMGATE_NAME): why`, or `name (--flag): why` when a flag gave it."""
    from simgate.config import env_name

    field = str(error["loc"][0]) if error["loc"] else "?"
    source = env_name(field)
    if field in overrides:
        source = _flag_of(field) or source
    why = str(error["msg"]).removeprefix("Value error, ")
    return f"{field} ({source}): {why}"


def _flag_of(field: str) -> str | None:
    context = click.get_current_context(silent=True)
    if context is None:
        return None
    for param in context.command.params:
        if param.name == field and isinstance(param, click.Option):
            return max(param.opts, key=len)
    return None


def open_store(overrides: dict[str, Any]) -> Any:
    """An engine on the migrated store, disposed when the command ends."""
    from simgate.store.db import make_engine, upgrade

    settings = load_settings(overrides)
    context = click.get_current_context(silent=True)
    if context is not None:
        # Like `serve`, a command that writes to the store keeps `restore` from
        # replacing the file under it (store/store_lock.py) until it ends.
        context.with_resource(store_in_use(settings))
    engine = make_engine(settings)
    # Run in-process (tests, scripts), an engine left to the garbage collector
    # drops its open PostgreSQL connections without closing them.
    if context is not None:
        context.call_on_close(engine.dispose)
    upgrade(engine)
    return engine


@contextlib.contextmanager
def store_in_use(settings: Any) -> Iterator[None]:
    """On SQLite, the shared lock on the store file that `restore` waits for
    (store/store_lock.py); exits with its message while a restore runs."""
    from simgate.store import store_lock
    from simgate.store.backup import sqlite_path

    store = sqlite_path(settings.resolved_database_url())
    if store is None:
        yield
        return
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(store_lock.serving(store))
        except store_lock.StoreInUse as exc:
            fail(str(exc))
        yield


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
