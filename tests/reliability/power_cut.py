"""Power cuts: SIGKILL the cart at random instants during generated trips, power it on again,
and check that it came back exactly as last confirmed.

One cart folder lives through every cut, as a real cart does through a day: each run starts the
driver (``power_driver.py``) on the folder left by the previous run, kills it, and restarts the
cart in this process. Before each run the folder is copied and the same trip is played on the
copy here, without a kill, recording after each step what a restart must give back: the
restored basket (lines, session state, pending prompts, coupons, tare, handoff key) and what the
outbox must send. The killed run confirmed ``k`` steps (the last line it printed); the restart
must equal the reference after ``k`` or ``k + 1`` steps (the one whose commit had finished when
the process died), and basket and outbox must agree on which.

The store is the real reference server on 127.0.0.1, delivering while the cart runs and dies,
so cuts land between sending a handoff and marking it delivered too. After each restart the
outbox is drained to the store, and the store must hold each recorded handoff exactly once and
nothing that the ledger does not have.

Used by ``test_power_cut.py`` (a few dozen cuts in CI) and ``bench/soak_bench.py`` (hundreds).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cart_app.basket import BasketState, restore
from cart_app.records import HandoffQueued
from store_server.api import ServerContext, create_app
from store_server.db import StoreDB
from store_server.runner import ServerThread
from tests.reliability.rig import (
    CART_ID,
    Cart,
    OutboxView,
    open_cart,
    outbox_view,
    seed_folder,
    trip,
)

DRIVER = Path(__file__).with_name("power_driver.py")
REPO = DRIVER.parents[2]
DEAD_URL = "http://127.0.0.1:9"
"""The discard port: nothing listens, so the reference run's link delivers nothing."""
DRAIN_TIMEOUT_S = 30.0
MODES = ("timer", "after step", "inside next step", "at SQL statement")


@dataclass(frozen=True, slots=True)
class Expected:
    """What a restart after ``n`` confirmed steps must give back."""

    basket: BasketState
    outbox: OutboxView


@dataclass
class CutStats:
    """Figures of a series of cuts."""

    runs: int = 0
    killed: int = 0
    finished: int = 0
    steps_confirmed: int = 0
    restored_at: Counter[str] = field(default_factory=Counter)
    kill_modes: Counter[str] = field(default_factory=Counter)
    handoffs_recorded: int = 0
    handoffs_at_store: int = 0
    lost_baskets: int = 0
    duplicate_handoffs: int = 0

    def line(self) -> str:
        where = ", ".join(f"{k}: {v}" for k, v in sorted(self.restored_at.items()))
        modes = ", ".join(f"{k}: {v}" for k, v in sorted(self.kill_modes.items()))
        return (
            f"{self.runs} runs, {self.killed} killed by SIGKILL ({modes}), "
            f"{self.finished} ran to the end; "
            f"{self.steps_confirmed} steps confirmed; restored at ({where}); "
            f"handoffs recorded {self.handoffs_recorded}, at the store {self.handoffs_at_store}; "
            f"lost baskets {self.lost_baskets}, duplicate handoffs {self.duplicate_handoffs}"
        )


class StoreForCuts:
    """The reference store server on a free loopback port, with this cart provisioned."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.db = StoreDB.open(str(folder / "store.sqlite3"))
        from tests.store.conftest import demo_catalog_doc, demo_layout_doc

        self.db.upload_catalog(demo_catalog_doc(), demo_layout_doc())
        self.api_key = self.db.add_principal("cart", CART_ID)
        self.thread = ServerThread(create_app(ServerContext(self.db))).start()

    @property
    def url(self) -> str:
        return self.thread.url

    def close(self) -> None:
        self.thread.stop()
        self.db.close()


def _kill(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)


class PowerCuts:
    """A cart folder that is power-cut again and again; see the module docstring."""

    def __init__(
        self, work: Path, store: StoreForCuts, *, steps: int = 40, seed: int = 20261121
    ) -> None:
        self.work = work
        self.store = store
        self.steps = steps
        self.rng = random.Random(seed)
        self.cart_dir = work / "cart"
        self.template = work / "template"
        seed_folder(self.template)
        seed_folder(self.cart_dir, self.template)
        self.wall_offset = float(int(time.time()))
        self.stats = CutStats()
        self._run = 0
        self._mode = ""

    # --- reference ------------------------------------------------------------------------

    def reference(self, seed: int, tag: str) -> list[Expected]:
        """Play the trip on a copy of the folder as it is now; what each prefix must restore."""
        copy = self.work / "reference"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.cart_dir, copy)
        cart = open_cart(
            copy, store_url=DEAD_URL, api_key="none", wall_offset=self.wall_offset, id_prefix=tag
        )
        try:
            expected = [Expected(restore(cart.ledger), outbox_view(cart.outbox))]
            for _n, _step, _outcome in trip(cart, seed, self.steps, tag):
                expected.append(Expected(restore(cart.ledger), outbox_view(cart.outbox)))
        finally:
            cart.stop()
        return expected

    # --- one cut --------------------------------------------------------------------------

    def _drive(self, seed: int, tag: str) -> tuple[int, bool, str]:
        """Run the driver, kill it at a random instant; (last confirmation, killed, stderr)."""
        paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        args = [self.store.url, self.store.api_key, repr(self.wall_offset)]
        rng = self.rng
        mode = rng.randrange(4)
        if mode == 3:
            # Inside the cart: at a random SQL statement of the ledger or the outbox.
            env["POWER_CUT_AT_STATEMENT"] = str(rng.randint(1, 10 * self.steps))
        proc = subprocess.Popen(
            [
                sys.executable,
                str(DRIVER),
                str(self.cart_dir),
                str(seed),
                str(self.steps),
                tag,
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        self._mode = MODES[mode]
        timer: threading.Timer | None = None
        after = rng.randint(0, self.steps) if mode in (1, 2) else -1
        pause = rng.uniform(0.0, 0.01) if mode == 2 else 0.0
        if mode == 0:
            # Any instant from interpreter start-up (opening the files, restoring) to the end.
            timer = threading.Timer(rng.uniform(0.0, 3.0), _kill, (proc,))
            timer.start()
        confirmed = -1
        try:
            for line in proc.stdout:
                confirmed = int(line.split()[1])
                if confirmed == after:
                    if pause:
                        time.sleep(pause)  # so the kill lands inside the next step
                    _kill(proc)
        finally:
            if timer is not None:
                timer.cancel()
            _, stderr = proc.communicate(timeout=60)
        killed = proc.returncode == -signal.SIGKILL
        if not killed and proc.returncode != 0:
            raise AssertionError(f"driver failed ({proc.returncode}):\n{stderr}")
        return confirmed, killed, stderr

    def cut_once(self) -> None:
        """One run: reference, driven run with a kill, restart and checks."""
        self._run += 1
        seed = 7919 * self._run + self.rng.randrange(1000)
        tag = f"r{self._run}"
        expected = self.reference(seed, tag)
        confirmed, killed, stderr = self._drive(seed, tag)
        self.stats.runs += 1
        self.stats.killed += killed
        if killed:
            self.stats.kill_modes[self._mode] += 1
        self.stats.finished += not killed
        self.stats.steps_confirmed += max(confirmed, 0)
        self.check_restart(expected, confirmed, killed, stderr)

    def check_restart(
        self, expected: list[Expected], confirmed: int, killed: bool, stderr: str
    ) -> None:
        """Power on again; the cart must be as after ``confirmed`` or one more step."""
        cart = open_cart(
            self.cart_dir,
            store_url=self.store.url,
            api_key=self.store.api_key,
            wall_offset=self.wall_offset,
            id_prefix=f"restart{self._run}",
        )
        try:
            restored = restore(cart.ledger)
            assert cart.engine.snapshot.basket == restored, "the engine restored another basket"
            held = [e.key for e in cart.outbox.held()]
            assert not held, f"held outbox entries survived reconciliation: {held}"
            outbox = outbox_view(cart.outbox)
            candidates = [max(confirmed, 0)] if not killed else [max(confirmed, 0), confirmed + 1]
            candidates = [j for j in candidates if j < len(expected)]
            match = next(
                (
                    j
                    for j in candidates
                    if expected[j].basket == restored and expected[j].outbox == outbox
                ),
                None,
            )
            if match is None:
                raise AssertionError(self._explain(expected, candidates, restored, outbox, stderr))
            label = "k" if match == max(confirmed, 0) else "k+1"
            self.stats.restored_at[label] += 1
            self._drain_and_check_store(cart)
        finally:
            cart.stop()

    def _explain(
        self,
        expected: list[Expected],
        candidates: list[int],
        restored: BasketState,
        outbox: OutboxView,
        stderr: str,
    ) -> str:
        parts = [f"run {self._run}: restart matches none of steps {candidates}"]
        for j in candidates:
            parts.append(f"  step {j} basket equal: {expected[j].basket == restored}")
            if expected[j].basket != restored:
                parts.append(f"    expected {expected[j].basket}\n    restored {restored}")
            if expected[j].outbox != outbox:
                exp, got = expected[j].outbox, outbox
                parts.append(
                    f"    outbox missing {sorted(set(exp) - set(got))}, "
                    f"extra {sorted(set(got) - set(exp))}, "
                    f"differ {[k for k in exp if k in got and exp[k] != got[k]]}"
                )
        parts.append(f"driver stderr:\n{stderr[-2000:]}")
        return "\n".join(parts)

    def _drain_and_check_store(self, cart: Cart) -> None:
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while cart.outbox.pending_count() > 0:
            if time.monotonic() > deadline:
                entries = [(e.key, e.state, e.last_error) for e in cart.outbox.entries()]
                raise AssertionError(f"outbox not delivered: {entries}")
            time.sleep(0.02)
        dead = cart.outbox.entries("dead")
        assert not dead, f"the store refused: {[(e.key, e.last_error) for e in dead]}"
        recorded: dict[str, set[str]] = {}
        for session_id in cart.ledger.session_ids():
            keys = {
                r.idempotency_key
                for r in cart.ledger.records(session_id)
                if isinstance(r, HandoffQueued)
            }
            recorded[session_id] = keys
        total_recorded = sum(len(k) for k in recorded.values())
        at_store = 0
        for session_id, keys in recorded.items():
            count = self.store.db.count_handoffs(session_id)
            at_store += count
            for key in keys:
                if self.store.db.handoff(key) is None:
                    self.stats.lost_baskets += 1
                    raise AssertionError(f"handoff {key} of {session_id} never reached the store")
            if count > len(keys):
                self.stats.duplicate_handoffs += count - len(keys)
                raise AssertionError(
                    f"{session_id}: {count} handoffs at the store, {len(keys)} recorded"
                )
        self.stats.handoffs_recorded = total_recorded
        self.stats.handoffs_at_store = at_store


def run_cuts(work: Path, cuts: int, *, steps: int = 40, seed: int = 20261121) -> CutStats:
    """``cuts`` power cuts on one cart against a fresh store; raises on the first failure."""
    store = StoreForCuts(work / "store")
    try:
        rig = PowerCuts(work, store, steps=steps, seed=seed)
        for _ in range(cuts):
            rig.cut_once()
        return rig.stats
    finally:
        store.close()
