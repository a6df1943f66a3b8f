"""Weight-filter benchmark: event precision and recall, weight error, latency, CPU per stream.

    python -m bench.scale_filter_bench [--sessions 40] [--events 30] [--seed 0]
                                       [--settle-time 0.4] [--motion-flag] [--show-errors]

Simulates ``sessions`` shopping trips of ``events`` insertions and removals each (items 5 g to
5 kg, log-uniform) with the generator in ``tests/scale/traces.py``: sensor noise 0.3-1 g,
drift, spikes, pushes, leans and bumps between items. Each trip is an 80 Hz stream fed through
:class:`scale.filter.WeightFilter` exactly as the scale thread would feed it.

Scoring. A reported change is the filter's ``WeightChange`` minus those it later withdrew with
``ChangeCancelled``. It matches a true event when the sign agrees, its ``t_start`` lies within
the true event's ``[t_start - 0.3 s, t_settle + 0.3 s]``, and its weight is within
max(3 g, 5 %) of the truth; each is matched at most once. Precision = matched / reported,
recall = matched / true. "Items >= 20 g" counts true events of at least 20 g, and reported
changes matched to them or, unmatched, of at least 20 g. Weight error is |reported - true| on
matches, set against the target 1 g + 0.2 % of the item. Latency is the time of the sample
that produced the event minus the physical settle (see ``tests/scale/traces.py``). CPU is the
process time spent in ``feed`` over the simulated duration of the streams.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from scale.filter import ChangeCancelled, FilterSettings, WeightFilter
from scale.types import WeightChange
from tests.scale.traces import Trace, TruthEvent, error_target_g, random_trip

BIG_G = 20.0


@dataclass
class Tally:
    """Counts and samples gathered over all sessions."""

    true_events: int = 0
    true_big: int = 0
    reported: int = 0
    reported_big: int = 0
    matched: int = 0
    matched_big: int = 0
    withdrawn_false: Counter[str] = field(default_factory=Counter)  # flickers, by cause
    withdrawn_true: int = 0  # real items whose change was withdrawn
    errors: list[tuple[float, float]] = field(default_factory=list)  # (|error|, true delta)
    latencies: list[float] = field(default_factory=list)
    false_by_cause: Counter[str] = field(default_factory=Counter)
    missed_by_size: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0
    stream_s: float = 0.0
    samples: int = 0
    notes: list[str] = field(default_factory=list)


def _run(trace: Trace, settings: FilterSettings) -> tuple[list[WeightChange], set[int], float]:
    """Feed the trace; return the changes, ids of withdrawn ones, and CPU seconds spent."""
    samples = trace.samples()
    filt = WeightFilter(settings)
    events = []
    start = time.process_time()
    for sample in samples:
        events.extend(filt.feed(sample))
    cpu = time.process_time() - start
    changes = [e for e in events if isinstance(e, WeightChange)]
    withdrawn = {id(e.change) for e in events if isinstance(e, ChangeCancelled)}
    return changes, withdrawn, cpu


def _matches(change: WeightChange, truth: TruthEvent) -> bool:
    if change.delta_g * truth.delta_g <= 0:
        return False
    if not truth.t_start - 0.3 <= change.t_start <= truth.t_settle + 0.3:
        return False
    return abs(change.delta_g - truth.delta_g) <= max(3.0, 0.05 * abs(truth.delta_g))


def _cause(trace: Trace, change: WeightChange) -> str:
    """What was going on when a false change started: the disturbance that overlaps it."""
    for d in trace.disturbances:
        if d.t_start - 0.5 <= change.t_start <= d.t_end + 0.5 and d.kind != "spike":
            return d.kind
    for d in trace.disturbances:
        if abs(change.t_start - d.t_start) < 0.5:
            return d.kind
    for ev in trace.events:
        if ev.t_start - 0.5 <= change.t_start <= ev.t_settle + 1.0:
            return "item (wrong weight or split)"
    return "none"


def score(trace: Trace, settings: FilterSettings, tally: Tally, show: bool) -> None:
    """Run one trace and add its figures to ``tally``."""
    changes, withdrawn, cpu = _run(trace, settings)
    tally.cpu_s += cpu
    tally.stream_s += trace.duration_s
    tally.samples += len(trace.t)
    final = [c for c in changes if id(c) not in withdrawn]
    used: dict[int, TruthEvent] = {}
    for truth in trace.events:
        big = abs(truth.delta_g) >= BIG_G
        tally.true_events += 1
        tally.true_big += big
        hit = next((i for i, c in enumerate(final) if i not in used and _matches(c, truth)), None)
        if hit is None:
            if any(_matches(c, truth) for c in changes if id(c) in withdrawn):
                tally.withdrawn_true += 1
                if show:
                    tally.notes.append(f"  withdrawn true {truth}")
            size = "5-20 g" if not big else ("20-100 g" if abs(truth.delta_g) < 100 else ">=100 g")
            tally.missed_by_size[size] += 1
            if show:
                tally.notes.append(f"  missed {truth}")
            continue
        used[hit] = truth
        change = final[hit]
        tally.matched += 1
        tally.matched_big += big
        tally.errors.append((abs(change.delta_g - truth.delta_g), truth.delta_g))
        tally.latencies.append(change.t_settled - truth.t_settle)
    for i, change in enumerate(final):
        tally.reported += 1
        if i in used:
            tally.reported_big += abs(used[i].delta_g) >= BIG_G
            continue
        tally.reported_big += abs(change.delta_g) >= BIG_G
        tally.false_by_cause[_cause(trace, change)] += 1
        if show:
            tally.notes.append(f"  false {change}")
    for change in changes:
        if id(change) in withdrawn and not any(_matches(change, t) for t in trace.events):
            tally.withdrawn_false[_cause(trace, change)] += 1
            if show:
                tally.notes.append(f"  withdrawn {change}")


def _wilson_low(a: int, b: int, z: float = 1.96) -> float:
    """Lower end of the 95 % Wilson interval for a proportion of ``a`` in ``b``."""
    p = a / b
    centre = p + z * z / (2 * b)
    margin = z * math.sqrt(p * (1 - p) / b + z * z / (4 * b * b))
    return (centre - margin) / (1 + z * z / b)


def _pct(a: int, b: int) -> str:
    if not b:
        return "n/a"
    return f"{100.0 * a / b:.2f} % ({a}/{b}; 95 % lower bound {100.0 * _wilson_low(a, b):.2f} %)"


def report(tally: Tally, settings: FilterSettings, args: argparse.Namespace) -> None:
    """Print the figures."""
    err = np.array([e for e, _ in tally.errors])
    ratio = np.array([e / error_target_g(d) for e, d in tally.errors])
    lat = np.array(tally.latencies) * 1000.0
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"settings: settle_time_s={settings.settle_time_s}, "
        f"motion flag={'yes' if args.motion_flag else 'no'}, sessions={args.sessions}, "
        f"events/session={args.events}, seed={args.seed}"
    )
    print(f"true events: {tally.true_events} ({tally.true_big} of at least {BIG_G:g} g)")
    print(f"precision, all items:   {_pct(tally.matched, tally.reported)}")
    print(f"recall, all items:      {_pct(tally.matched, tally.true_events)}")
    print(f"precision, >= {BIG_G:g} g:     {_pct(tally.matched_big, tally.reported_big)}")
    print(f"recall, >= {BIG_G:g} g:        {_pct(tally.matched_big, tally.true_big)}")
    print(f"missed by size: {dict(tally.missed_by_size)}")
    print(f"false changes by cause: {dict(tally.false_by_cause)}")
    print(
        f"withdrawn (ChangeCancelled): {sum(tally.withdrawn_false.values())} false changes "
        f"{dict(tally.withdrawn_false)}, "
        f"{tally.withdrawn_true} true ones"
    )
    if len(err):
        print(
            f"weight error: p50 {np.percentile(err, 50):.2f} g, p99 {np.percentile(err, 99):.2f} g,"
            f" max {err.max():.2f} g; error/target p99 {np.percentile(ratio, 99):.2f}, "
            f"within target {_pct(int((ratio <= 1.0).sum()), len(ratio))}"
        )
        print(
            f"latency from physical settle: p50 {np.percentile(lat, 50):.0f} ms, "
            f"p95 {np.percentile(lat, 95):.0f} ms, p99 {np.percentile(lat, 99):.0f} ms, "
            f"max {lat.max():.0f} ms"
        )
    per_sample_us = 1e6 * tally.cpu_s / max(1, tally.samples)
    print(
        f"CPU: {100.0 * tally.cpu_s / tally.stream_s:.3f} % of one core per 80 Hz stream "
        f"({per_sample_us:.1f} us per sample, {tally.samples} samples, "
        f"{tally.stream_s / 60:.1f} simulated minutes)"
    )
    for note in tally.notes:
        print(note)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--events", type=int, default=30, help="insertions and removals each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settle-time", type=float, default=None, help="settle_time_s")
    parser.add_argument("--motion-flag", action="store_true", help="the scale reports motion")
    parser.add_argument("--show-errors", action="store_true", help="list misses and false ones")
    args = parser.parse_args(argv)
    settings = FilterSettings()
    if args.settle_time is not None:
        settings = replace(settings, settle_time_s=args.settle_time)
    tally = Tally()
    for i in range(args.sessions):
        trace = random_trip(args.seed * 10_000 + i, args.events, motion_flag=args.motion_flag)
        if args.show_errors:
            tally.notes.append(f"session {i} (noise {trace.noise_g:.2f} g):")
        score(trace, settings, tally, args.show_errors)
    report(tally, settings, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
