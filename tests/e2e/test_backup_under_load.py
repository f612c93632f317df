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
    """sendsms requests one after another in a thread; for each answer, when
    its request left and when the answer came, and the ids it gave."""

    def __init__(self, server: ServerProcess, login: str, key: str) -> None:
        self.url = server.url + "/api/v1/sendsms"
        self.header = {"login": login, "accessKey": key}
        self.answered: list[tuple[float, float, list[str]]] = []
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
                left = time.monotonic()
                response = client.post(self.url, json={"header": self.header, "messages": items})
                if response.status_code != 200:
                    self.errors.append(response.text)
                    return
                ids = [item["id_sms_api"] for item in response.json() if item["sent"] == 1]
                self.answered.append((left, time.monotonic(), ids))

    def ids(self, answered_before: float = float("inf"), sent_after: float = 0.0) -> set[str]:
        return {
            i
            for left, came, ids in list(self.answered)
            if came < answered_before and left > sent_after
            for i in ids
        }

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
    # Small steps, and after the first one the copy waits until the server
    # has committed more messages: a copy that restarted, or read the live
    # store instead of its snapshot, would show them.
    copy = tmp_path / "backup.db"
    monkeypatch.setattr(backups, "STEP_PAGES", 2)
    first_step: list[float] = []

    def rest(_status: int, remaining: int, _total: int) -> None:
        if not first_step:
            first_step.append(time.monotonic())
            assert remaining > 0  # the copy is under way, not done
            load.wait_for(len(load.ids()) + 2 * BATCH)

    monkeypatch.setattr(backups, "_rest", rest)

    with ServerProcess(live) as server:
        load = Load(server, account.email, key)
        load.thread.start()
        try:
            load.wait_for(100)
            began = time.monotonic()
            result = run_cli("backup", str(copy), settings=live)
            assert result.exit_code == 0, result.output
            # The server's lock keeps a restore off its store.
            refused = run_cli("restore", str(copy), settings=live)
            assert refused.exit_code == 1
            assert "a server or another simgate command uses" in refused.output
        finally:
            load.stop.set()
            load.thread.join(30)
        assert not load.errors, load.errors
    before = load.ids(answered_before=began)
    during = load.ids(sent_after=first_step[0])
    assert during

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
    assert not during & stored, "the copy holds messages sent after its snapshot"
    # Nothing but answered messages (and the one sent after the restore).
    assert stored - load.ids() == {answer.json()[0]["id_sms_api"]}
