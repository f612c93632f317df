"""The SMSC simulator for the SMPP tests: one process per test worker, reset
before each test. Without node or its npm modules the tests are skipped; CI
sets SIMGATE_REQUIRE_NODE=1 so that this fails instead."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import smsc


@pytest.fixture(scope="session")
def smsc_process() -> Iterator[smsc.SmscSimulator]:
    why = smsc.missing()
    if why is not None:
        if os.environ.get("SIMGATE_REQUIRE_NODE") == "1":  # CI: never skipped
            pytest.fail(why)
        pytest.skip(why)
    with smsc.SmscSimulator() as simulator:
        yield simulator


@pytest.fixture
def smsc_sim(smsc_process: smsc.SmscSimulator) -> smsc.SmscSimulator:
    """The simulator with no records, default config (receipts after 300 ms)."""
    smsc_process.reset()
    return smsc_process
