"""Crash-restore: SIGKILL a process mid-session, reopen its ledger, get the confirmed basket back.

The driver (``tests/ledger_crash_driver.py``) appends a seeded script and prints ``confirmed n``
after each append returns. Whatever the instant of the kill, the reopened ledger must hold
exactly the first k records of the script, where k is the last confirmation read or one more
(killed after the commit but before the print), and its chain must verify.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cart_app.basket import fold, restore
from cart_app.clock import FakeClock
from cart_app.ledger import Ledger
from tests.ledger_crash_driver import scripted_session, session_id_for

DRIVER = Path(__file__).with_name("ledger_crash_driver.py")
REPO = DRIVER.parent.parent
KILLS = 60
SCRIPT_LENGTH = 200


@dataclass(frozen=True)
class Outcome:
    confirmed: int
    killed: bool


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)


def _run_and_kill(path: Path, seed: int, rng: random.Random) -> Outcome:
    """Start the driver, SIGKILL it at a random instant, return the last confirmation seen."""
    paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(path), str(seed), str(SCRIPT_LENGTH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    mode = rng.randrange(3)
    timer: threading.Timer | None = None
    after = rng.randint(0, SCRIPT_LENGTH) if mode else -1
    pause = rng.uniform(0.0, 0.002) if mode == 2 else 0.0
    if mode == 0:
        # Any instant from interpreter start-up through file creation to the last append.
        timer = threading.Timer(rng.uniform(0.0, 0.25), _kill, (proc,))
        timer.start()
    confirmed = 0
    try:
        if after == 0:
            _kill(proc)
        for line in proc.stdout:
            confirmed = int(line.split()[1])
            if confirmed == after:
                if pause:
                    time.sleep(pause)  # so the kill lands anywhere inside the next append
                _kill(proc)
    finally:
        if timer is not None:
            timer.cancel()
        _kill(proc)
        _, stderr = proc.communicate()
    killed = proc.returncode == -signal.SIGKILL
    assert killed or proc.returncode == 0, stderr
    return Outcome(confirmed, killed)


@pytest.mark.fault
def test_sigkill_at_random_points_restores_the_confirmed_prefix(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    restored_counts: list[int] = []
    for run in range(KILLS):
        seed = 1000 + run
        path = tmp_path / f"run{run}" / "ledger.db"
        outcome = _run_and_kill(path, seed, rng)
        script = scripted_session(seed, SCRIPT_LENGTH)

        with Ledger.open(path, FakeClock()) as ledger:
            records = ledger.records(session_id_for(seed))
            k = len(records)
            assert outcome.confirmed <= k <= outcome.confirmed + 1, (run, outcome, k)
            if not outcome.killed:
                assert k == SCRIPT_LENGTH
            assert records == script[:k], run
            assert restore(ledger) == fold(script[:k]), run
            report = ledger.verify()
            assert report.ok, (run, report)
            assert report.entries_checked == k
        restored_counts.append(k)

    # Guard against a vacuous pass: the kills must have landed all over the session.
    mid_session = [k for k in restored_counts if 0 < k < SCRIPT_LENGTH]
    assert len(set(restored_counts)) >= 10, restored_counts
    assert len(mid_session) >= KILLS // 3, restored_counts
