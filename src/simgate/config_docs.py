"""docs/configuration.md, generated from `Settings` and the command line.

`simgate config docs --output docs/configuration.md` writes it; a test fails
when the file differs from what `render()` gives, so the table cannot drift
from the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic.fields import FieldInfo

from simgate.config import Settings, env_name

INTRO = """\
# Configuration

<!-- Generated from simgate/config.py by `simgate config docs --output
docs/configuration.md`; edit the descriptions there, not here. -->

`simgate serve` and every command that opens the store read their settings
from `SIMGATE_*` environment variables; some can also be given as flags of
`simgate serve`, which win over the variable. A wrong value stops the command
before it starts, with one line naming the variable and what is wrong, e.g.

    error: bad setting webhook_retry_schedule (SIMGATE_WEBHOOK_RETRY_SCHEDULE): \
retry schedule must be comma-separated seconds, got 'abc'

Booleans are `true`/`false` (also `1`/`0`, `yes`/`no`); lists are comma-separated.
"""


def render() -> str:
    """The text of docs/configuration.md."""
    from simgate.cli import main

    serve = _command(main, "serve")
    flags = {p.name: p for p in serve.params if isinstance(p, click.Option)}
    lines = [INTRO, "## Server settings", ""]
    lines += ["| Variable | Flag of `serve` | Default | Meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        flag = flags.pop(name, None)
        shown = f"`{_flag(flag)}`" if flag else ""
        lines.append(f"| `{env_name(name)}` | {shown} | {_default(field)} | {_meaning(field)} |")
    lines += ["", "## Flags of `simgate serve` without a variable", ""]
    lines += ["| Flag | Meaning |", "|---|---|"]
    for flag in flags.values():
        if flag.name == "help":
            continue
        lines.append(f"| `{_flag(flag)}` | {_cell(flag.help or '')} |")
    lines += ["", "## Client commands (`simgate send`, `simgate contacts`)", ""]
    lines += [
        "They talk to a running gateway over its API, like any client, and read no server setting.",
        "",
        "| Variable | Flag | Default | Meaning |",
        "|---|---|---|---|",
    ]
    for option in _client_options(main):
        # click marks "no default" with a sentinel of its own in recent versions.
        given = isinstance(option.default, str | int | float)
        default = f"`{option.default}`" if given else "unset"
        help_text = _cell((option.help or "").split(" [env")[0])
        lines.append(f"| `{option.envvar}` | `{_flag(option)}` | {default} | {help_text} |")
    return "\n".join(lines) + "\n"


def write(path: Path) -> None:
    path.write_text(render())


def _command(group: click.Group, name: str) -> click.Command:
    command = group.commands[name]
    return command


def _client_options(main: click.Group) -> list[click.Option]:
    send = _command(main, "send")
    return [p for p in send.params if isinstance(p, click.Option) and isinstance(p.envvar, str)]


def _flag(option: click.Option) -> str:
    return max(option.opts, key=len)


def _default(field: FieldInfo) -> str:
    value: Any = field.default
    if value is None:
        return "unset"
    if isinstance(value, Path) and not value.is_absolute():
        return f"`./{value.as_posix()}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | tuple):
        return f"`{','.join(_number(v) for v in value)}`" if value else "none"
    if isinstance(value, float):
        return f"`{_number(value)}`"
    return f"`{value}`"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _meaning(field: FieldInfo) -> str:
    if not field.description:
        raise ValueError("every setting needs a description (Field(description=...))")
    return _cell(field.description)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
