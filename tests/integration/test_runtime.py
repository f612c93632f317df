"""The runtime: settings refused at start, supervised workers, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from simgate.clock import SYSTEM_CLOCK
from simgate.config import Settings
from simgate.workers import supervisor
from simgate.workers.supervisor import Supervisor, Worker
from tests.support.polling import wait_for
from tests.support.servers import LiveServer, free_port, simgate


def test_a_bad_setting_stops_serve_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    result = simgate(
        "serve",
        "--port",
        str(free_port()),
        settings=settings,
        env={"SIMGATE_WEBHOOK_RETRY_SCHEDULE": "abc"},
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: bad setting webhook_retry_schedule (SIMGATE_WEBHOOK_RETRY_SCHEDULE): "
        "retry schedule must be comma-separated seconds, got 'abc'"
    ]
    assert result.stdout == ""
    assert not settings.data_dir.exists()  # refused before anything was opened


def test_a_bad_flag_value_is_named_by_its_flag(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    result = simgate("serve", "--header-timeout", "0", settings=settings, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: bad setting header_timeout_seconds (--header-timeout): "
        "Input should be greater than 0"
    ]


def test_a_worker_that_crashes_is_logged_restarted_and_shown_in_healthz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from simgate.workers import webhooks
    from tests.webhooks.conftest import Recorder, emit, make_account, rows

    real_run = webhooks.Sender.run
    starts: list[float] = []

    async def crash_once(self: Any, stop: asyncio.Event) -> None:
        starts.append(time.monotonic())
        if len(starts) == 1:
            raise RuntimeError("boom")
        await real_run(self, stop)

    monkeypatch.setattr(webhooks.Sender, "run", crash_once)
    recorder = Recorder().start()
    try:
        with LiveServer(Settings(data_dir=tmp_path / "data", allow_private_callbacks=True)) as live:

            def sender() -> dict[str, Any]:
                health = live.get("/healthz").json()
                assert health["status"] == "ok"
                [row] = [w for w in health["workers"] if w["name"] == "webhooks"]
                return row  # type: ignore[no-any-return]

            row = wait_for(lambda: sender()["restarts"] == 1 and sender())
            assert row["running"] and row["ready"]
            assert row["last_error"] == "RuntimeError: boom"
            # Restarted, it does its job.
            account = make_account(live.engine, message=recorder.url + "/")
            emit(live.engine, account, "message", {"n": 1})
            wait_for(lambda: [r for r in rows(live.engine) if r.state == "done"], timeout=10)
    finally:
        recorder.stop()
    assert starts[1] - starts[0] >= supervisor.RESTART_FIRST_SECONDS
    [crash] = [r for r in caplog.records if r.name == "simgate.workers.supervisor"]
    assert crash.levelno == logging.ERROR and "worker webhooks crashed" in crash.getMessage()
    assert crash.exc_info is not None and str(crash.exc_info[1]) == "boom"  # with its traceback


def test_readyz_says_whether_this_node_can_take_traffic(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LiveServer(settings) as live:
        answer = wait_for(lambda: (r := live.get("/readyz")).status_code == 200 and r)
        assert answer.json() == {"status": "ready", "reasons": []}
        workers = live.get("/healthz").json()["workers"]
        postgres_only = {"wake-listener", "rollups"} if settings.database_url else set()
        expected = {"dispatcher", "reports", "webhooks", "pruner"} | postgres_only
        assert {w["name"] for w in workers} == expected
        assert all(w["running"] and w["ready"] and w["restarts"] == 0 for w in workers)

        with live.engine.begin() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        try:
            behind = live.get("/readyz")
            assert behind.status_code == 503
            assert behind.json() == {
                "status": "not ready",
                "reasons": [f"migrations not at head (store at 0001, this code at {head})"],
            }
        finally:
            with live.engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        assert live.get("/readyz").status_code == 200


def test_readyz_turns_traffic_away_while_a_worker_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simgate.workers import dispatcher

    async def always_down(_runtime: Any, _stop: asyncio.Event) -> None:
        raise ConnectionError("down")

    monkeypatch.setattr(dispatcher, "run", always_down)
    with LiveServer(Settings(data_dir=tmp_path / "data")) as live:
        down = wait_for(lambda: (r := live.get("/readyz")).status_code == 503 and r)
        assert down.json()["reasons"] == [
            "worker dispatcher is not running after ConnectionError: down"
        ]
        # Alive all the same: a restart may fix it, killing the process would not.
        assert live.get("/healthz").status_code == 200


async def test_restarts_back_off_doubling_up_to_a_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "RESTART_FIRST_SECONDS", 0.02)
    monkeypatch.setattr(supervisor, "RESTART_MAX_SECONDS", 0.08)
    starts: list[float] = []

    async def flaky(_runtime: Any, stop: asyncio.Event) -> None:
        starts.append(time.monotonic())
        if len(starts) == 1:
            return  # ending before `stop` is a crash too
        if len(starts) <= 5:
            raise ValueError(f"crash {len(starts)}")
        await stop.wait()

    workers = Supervisor(SYSTEM_CLOCK)
    workers.add(Worker("flaky", flaky))
    with pytest.raises(ValueError, match="already registered"):
        workers.add(Worker("flaky", flaky))
    stop = asyncio.Event()
    workers.start(None, stop)  # type: ignore[arg-type]
    try:
        for _ in range(500):
            if len(starts) == 6 and workers.report()[0]["running"]:
                break
            await asyncio.sleep(0.01)
        assert workers.report() == [
            {
                "name": "flaky",
                "running": True,
                "ready": True,
                "restarts": 5,
                "last_error": "ValueError: crash 5",
            }
        ]
        gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
        for gap, least in zip(gaps, [0.02, 0.04, 0.08, 0.08, 0.08], strict=True):
            assert gap >= least * 0.9, gaps
        assert workers.not_ready() == []
    finally:
        stop.set()
        await workers.shutdown()
    assert workers.report()[0]["running"] is False
