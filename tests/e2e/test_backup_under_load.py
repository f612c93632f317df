"""A backup taken while a real `simgate serve` takes messages restores into a
fresh data folder, a server starts on it, and every message answered before
the backup began is there (issue 15, docs/operations.md)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from simgate.config import Settings
from simgate.services.accounts import create_account
from simgate.store import backup as backups
from simgate.store.db import make_engine
from simgate.store.tables import messages
from tests.support.cli import run_cli
from tests.support.servers import LiveServer, ServerProcess

pytestmark = pytest.mark.e2e

BATCH = 5  # messages a request


class Load:
    """sendsms requests one after another in a thread; each answer's ids and
    the moment it arrived."""

    def __init__(self, server: ServerProcess, login: str, key: str) -> None:
        self.url = server.url + "/api/v1/sendsms"
        self.header = {"login": login, "accessKey": key}
        self.answered: list[tuple[float, list[str]]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.errors: list[str] = []

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                items = [
                    {"phone_number": "+33612345678", "message": f"m{n}-{i}"} for i in range(BATCH)
                ]
                n += 1
                response = client.post(self.url, json={"header": self.header, "messages": items})
                if response.status_code != 200:
                    self.errors.append(response.text)
                    return
                ids = [item["id_sms_api"] for item in response.json() if item["sent"] == 1]
                self.answered.append((time.monotonic(), ids))

    def ids(self, before: float = float("inf"), after: float = float("-inf")) -> set[str]:
        return {i for at, ids in list(self.answered) if after < at < before for i in ids}

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ids()) < count:
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, f"{len(self.ids())} answered in {timeout} s"
            time.sleep(0.01)


def stored_ids(settings: Settings) -> set[str]:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(messages.c.id_sms_api)).scalars())
    finally:
        engine.dispose()


def test_a_backup_under_load_keeps_every_message_answered_before_it(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = Settings(data_dir=tmp_path / "live")
    live.data_dir.mkdir()
    shutil.copyfile(sqlite_template, live.data_dir / "simgate.db")
    engine = make_engine(live)
    account, key = create_account(engine, "ops@example.com", "UTC", "FR")
    engine.dispose()
    # Small steps with a rest between them: the copy takes many steps while
    # the server commits, as a large store's would.
    monkeypatch.setattr(backups, "STEP_PAGES", 2)
    monkeypatch.setattr(backups, "STEP_REST", 0.003)
    copy = tmp_path / "backup.db"

    with ServerProcess(live) as server:
        load = Load(server, account.email, key)
        load.thread.start()
        try:
            load.wait_for(100)
            began = time.monotonic()
            result = run_cli("backup", str(copy), settings=live)
            ended = time.monotonic()
            assert result.exit_code == 0, result.output
            load.wait_for(len(load.ids()) + 2 * BATCH)  # the server still takes messages
            # The server's lock keeps a restore off its store.
            refused = run_cli("restore", str(copy), settings=live)
            assert refused.exit_code == 1 and "a server uses" in refused.output
        finally:
            load.stop.set()
            load.thread.join(30)
        assert not load.errors, load.errors
    before = load.ids(before=began)
    during = load.ids(after=began, before=ended)
    assert during, "no message was answered while the backup ran"

    fresh = Settings(data_dir=tmp_path / "fresh")
    result = run_cli("restore", str(copy), settings=fresh)
    assert result.exit_code == 0, result.output
    # In this process: a second server process would cost ten seconds of start on a busy machine.
    with LiveServer(fresh) as restored:
        answer = restored.post(
            "/api/v1/sendsms",
            json={
                "header": {"login": account.email, "accessKey": key},
                "messages": [{"phone_number": "+33612345678", "message": "after the restore"}],
            },
        )
        assert answer.status_code == 200 and answer.json()[0]["sent"] == 1, answer.text
    stored = stored_ids(fresh)
    assert before <= stored, f"{len(before - stored)} answered messages missing"
    # Nothing but answered messages (and the one sent after the restore).
    assert stored - load.ids() == {answer.json()[0]["id_sms_api"]}
