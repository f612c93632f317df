"""`simgate ARGS` run in this process through click's runner: the CLI's own
code and the store it opens, without a subprocess's half second of start-up.
Process-level behaviour (exit codes of a real process, signals) stays with
`simgate.testing.simgate`."""

from __future__ import annotations

from click.testing import CliRunner, Result

from simgate.cli import main
from simgate.config import Settings
from simgate.testing import settings_env


def run_cli(
    *args: str, settings: Settings, env: dict[str, str] | None = None, stdin: str | None = None
) -> Result:
    """`simgate ARGS` with the environment a subprocess would get for `settings`."""
    environ: dict[str, str | None] = {**settings_env(settings), **(env or {})}
    environ.setdefault("SIMGATE_DATABASE_URL", None)  # unset for SQLite
    return CliRunner().invoke(main, list(args), env=environ, input=stdin)
