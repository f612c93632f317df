"""The HTTP edges (`api/`, `web/`) call services only: no module under them
imports the store or SQLAlchemy (DESIGN section 8), not even through a name
another module re-exports."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import simgate

PACKAGE = Path(simgate.__file__).parent
EDGES = ("api", "web")
FORBIDDEN = ("simgate.store", "sqlalchemy")


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module name) of every import in `source`, relative ones resolved
    against `module` (the dotted name of the file's package)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            # `from simgate import store` names the module in the alias.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            found.append((node.lineno, base))
    return found


def is_forbidden(name: str) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def forbidden_imports(path: Path) -> list[str]:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    package = ".".join(relative.parts[:-1])  # a module's package; __init__'s own
    lines: dict[int, str] = {}  # one problem per import statement, its shortest name
    for line, name in imported_modules(path.read_text(encoding="utf-8"), package):
        if is_forbidden(name) and len(name) < len(lines.get(line, name + " ")):
            lines[line] = name
    where = relative.as_posix() + ".py"
    return [f"{where}:{line} imports {name}" for line, name in sorted(lines.items())]


def edge_modules() -> list[Path]:
    return sorted(p for edge in EDGES for p in (PACKAGE / edge).rglob("*.py"))


def test_there_are_edge_modules_to_check() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in edge_modules()}
    assert {"api/v1.py", "api/devices.py", "web/auth.py", "web/common.py"} <= names


@pytest.mark.parametrize("path", edge_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_edges_import_neither_the_store_nor_sqlalchemy(path: Path) -> None:
    problems = forbidden_imports(path)
    assert not problems, "the edges call services only:\n" + "\n".join(problems)


def smuggled_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of the names `source` imports from a simgate module that
    are really SQLAlchemy's (`from simgate.services import Engine`), or that
    are modules of the store or SQLAlchemy (`from simgate.services.x import store`)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if node.module.split(".")[0] != "simgate":
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            value = getattr(module, alias.name, None)
            if inspect.ismodule(value):
                bad = is_forbidden(value.__name__)
            else:
                bad = (getattr(value, "__module__", None) or "").split(".")[0] == "sqlalchemy"
            if bad:
                found.append((node.lineno, f"{node.module}.{alias.name}"))
    return found


@pytest.mark.parametrize("path", edge_modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_edges_get_nothing_of_sqlalchemy_through_a_re_export(path: Path) -> None:
    where = path.relative_to(PACKAGE.parent).as_posix()
    found = smuggled_names(path.read_text(encoding="utf-8"))
    problems = [f"{where}:{line} imports {name}, a re-export" for line, name in found]
    assert not problems, "the edges call services only:\n" + "\n".join(problems)


def test_the_re_export_check_sees_an_engine_by_another_name() -> None:
    source = (
        "from simgate.runtime import Engine, Runtime\n"  # runtime.py's own import
        "from simgate.services.accounts import Account, get_account\n"
        "from simgate.services.devices import store\n"
    )
    assert smuggled_names(source) == [
        (1, "simgate.runtime.Engine"),
        (3, "simgate.services.devices.store"),
    ]


@pytest.mark.parametrize(
    "source",
    [
        "import sqlalchemy",
        "import sqlalchemy.orm as orm",
        "from sqlalchemy import select",
        "from simgate.store.tables import messages",
        "from simgate import store",
        "from simgate.store import db",
        "from ..store import db",
        "from .. import store",
        "def f():\n    from simgate.store.db import run_write\n",
        "if TYPE_CHECKING:\n    from sqlalchemy import Engine\n",
    ],
)
def test_the_check_sees_every_form_of_import(source: str) -> None:
    names = [name for _, name in imported_modules(source, "simgate.web")]
    assert any(map(is_forbidden, names)), names


def test_the_check_lets_services_through() -> None:
    source = (
        "from simgate.services import sessions\n"
        "from simgate.services.accounts import Account\n"
        "from simgate import storefront\n"
    )
    names = [name for _, name in imported_modules(source, "simgate.web")]
    assert not any(map(is_forbidden, names)), names
