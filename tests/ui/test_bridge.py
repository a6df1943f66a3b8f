"""The one bridge to the Kivy thread: bursts coalesce, discrete events keep their order, one
dispatch is scheduled at a time. The scheduler is injected, so no Kivy is needed."""

from __future__ import annotations

import threading
import time

from cart_app.basket import empty_basket
from cart_app.engine import CartSnapshot
from cart_app.events import CommandRejected, EngineFault, RequestCheckout
from cart_app.store.link import LinkState, LinkStatus
from ui.bridge import Batch, Bridge
from ui.jobs import JobDone, Jobs


def snap(version: int) -> CartSnapshot:
    return CartSnapshot(version, empty_basket(), None, None)


class Recorder:
    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.triggers = 0

    def handler(self, batch: Batch) -> None:
        self.batches.append(batch)

    def trigger(self) -> None:
        self.triggers += 1


def test_a_burst_of_snapshots_is_one_update_with_the_newest() -> None:
    rec = Recorder()
    bridge = Bridge(rec.handler, rec.trigger)
    for version in range(1, 21):
        bridge.post(snap(version))
    assert rec.triggers == 1  # one dispatch asked for, however many events
    bridge.dispatch()
    (batch,) = rec.batches
    assert batch.snapshot is not None and batch.snapshot.version == 20
    assert batch.events == []
    assert bridge.stats.coalesced == 19 and bridge.stats.received == 20


def test_discrete_events_keep_their_order_and_come_first() -> None:
    rec = Recorder()
    bridge = Bridge(rec.handler, rec.trigger)
    rejected = CommandRejected(RequestCheckout(), "no")
    fault = EngineFault("disk full")
    status = LinkStatus(LinkState.ONLINE, "ok", 0.0, 0)
    bridge.post(snap(1))
    bridge.post(rejected)
    bridge.post(status)
    bridge.post(snap(2))
    bridge.post(fault)
    bridge.dispatch()
    (batch,) = rec.batches
    assert batch.events == [rejected, fault]
    assert batch.latest == {CartSnapshot: snap(2), LinkStatus: status}
    assert set(batch.received_at) == {CartSnapshot, LinkStatus}


def test_a_new_event_after_dispatch_schedules_again() -> None:
    rec = Recorder()
    bridge = Bridge(rec.handler, rec.trigger)
    bridge.post(snap(1))
    bridge.dispatch()
    bridge.dispatch()  # nothing waiting: the handler is not called
    bridge.post(snap(2))
    assert rec.triggers == 2
    bridge.dispatch()
    assert [b.snapshot.version for b in rec.batches if b.snapshot] == [1, 2]


def test_events_before_kivy_starts_are_flushed_when_the_scheduler_arrives() -> None:
    rec = Recorder()
    bridge = Bridge(rec.handler)
    bridge.post(snap(1))
    bridge.post(snap(2))
    assert rec.triggers == 0
    bridge.set_scheduler(rec.trigger)
    assert rec.triggers == 1
    bridge.dispatch()
    assert rec.batches[0].snapshot == snap(2)


def test_a_failing_handler_does_not_stop_the_bridge() -> None:
    calls: list[int] = []

    def handler(batch: Batch) -> None:
        calls.append(1)
        raise RuntimeError("broken screen")

    bridge = Bridge(handler, lambda: None)
    bridge.post(snap(1))
    bridge.dispatch()
    bridge.post(snap(2))
    bridge.dispatch()
    assert len(calls) == 2


def test_posting_from_many_threads_loses_nothing_and_coalesces() -> None:
    rec = Recorder()
    bridge = Bridge(rec.handler, rec.trigger)
    done = threading.Event()

    def engine_thread() -> None:
        for version in range(1, 2001):
            bridge.post(snap(version))
        done.set()

    def link_thread() -> None:
        for _ in range(500):
            bridge.post(CommandRejected(RequestCheckout(), "x"))

    threads = [threading.Thread(target=engine_thread), threading.Thread(target=link_thread)]
    for t in threads:
        t.start()
    # The "Kivy thread": drain while they post.
    while not done.is_set() or any(t.is_alive() for t in threads):
        bridge.dispatch()
        time.sleep(0.0005)
    for t in threads:
        t.join()
    bridge.dispatch()
    versions = [b.snapshot.version for b in rec.batches if b.snapshot]
    assert versions == sorted(versions) and versions[-1] == 2000
    assert sum(len(b.events) for b in rec.batches) == 500
    assert len(rec.batches) < 2500  # bursts were coalesced
    assert rec.triggers <= bridge.stats.dispatches + 1


def test_jobs_post_their_results_through_the_bridge() -> None:
    rec = Recorder()
    bridge = Bridge(rec.handler, rec.trigger)
    jobs = Jobs(bridge.post)
    jobs.start()
    results: list[tuple[object, BaseException | None]] = []
    gate = threading.Event()
    try:
        assert jobs.run("slow", lambda: gate.wait(5) and 42, lambda r, e: results.append((r, e)))
        assert not jobs.run("slow", lambda: 0, lambda r, e: None)  # one of a name at a time
        assert jobs.busy("slow")
        assert jobs.run("bad", lambda: 1 / 0, lambda r, e: results.append((r, e)))
        gate.set()
        deadline = time.monotonic() + 5
        while sum(len(b.events) for b in rec.batches) < 2 and time.monotonic() < deadline:
            bridge.dispatch()
            time.sleep(0.01)
    finally:
        jobs.stop()
    done = [e for b in rec.batches for e in b.events]
    assert all(isinstance(e, JobDone) for e in done)
    for event in done:
        assert isinstance(event, JobDone)
        event.deliver()
    assert results[0] == (42, None)
    assert isinstance(results[1][1], ZeroDivisionError)
    assert not jobs.busy("slow")
