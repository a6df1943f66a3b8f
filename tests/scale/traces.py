"""Deterministic synthetic load-cell traces for the weight filter's tests and benchmark.

A :class:`TraceBuilder` lays out a scripted scene on a timeline (items in and out, pushes,
leans, bumps, spikes, overload, a disconnect) and renders it as an 80 Hz stream of
:class:`~scale.types.WeightSample` with its ground truth. :func:`random_trip` draws a whole
shopping trip from a seed. Every random number comes from one seeded numpy generator, drawn in
call order, so a seed and a script always give the same trace.

The physical model, chosen from what a cart does and not from what the filter can handle:

- An item is a rigid mass. The hand lowers it over ``ramp_s`` (40–250 ms) and the basket on its
  load cells answers as a spring-damper (natural frequency 4–8 Hz, damping ratio 0.5–0.9), so
  the weight settles 150–300 ms after the hand lets go, with some overshoot.
- Sensor noise is white and gaussian (0.3–1 g standard deviation per trip); the zero drifts
  linearly (up to 1 g a minute); rare spikes (one or two samples, 20 g–2 kg) come from
  electrical interference.
- A push shakes the cart: a few sinusoids between 3 and 12 Hz totalling 10–60 g, with an
  irregular envelope (floor tiles), plus a slow load shift of up to ±40 g while the cart speeds
  up and slows down.
- A lean is a person's hand on the handle: 100–800 g coming on over 0.2–0.5 s, held 1–3 s, and
  never still. It sways slowly (0.2–1.5 Hz, 2–8 % of the lean) and trembles (6–12 Hz,
  0.3–1 %). A light lean with little sway can look like a plateau for a while; that is real
  and the benchmark keeps it.
- A bump is a knock on the frame: a damped 4–10 Hz ring of 20–300 g.

Ground truth for an item is ``(t_start, t_settle, delta_g)``: ``t_start`` is when the hand
starts loading or unloading, ``t_settle`` the *physical settle*, the moment from which the
noise-free response stays within the weight-error target ``1 g + 0.2 %`` of the item's weight
of its final value. That is the earliest moment a perfect instrument could report the item.

``python -m tests.scale.traces`` rewrites the CSV fixtures in ``tests/scale/traces/``.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from scale.filter import (
    ChangeCancelled,
    FilterEvent,
    FilterSettings,
    Settled,
    WeightFilter,
    ZeroAlert,
)
from scale.types import WeightChange, WeightSample

FloatArray = npt.NDArray[np.float64]
TRACES_DIR = Path(__file__).resolve().parent / "traces"

RATE_HZ = 80.0
_RAMP_POINTS = 16  # a ramp input is the mean of this many shifted step responses


def error_target_g(delta_g: float) -> float:
    """The benchmark's weight-error target for an item: 1 g plus 0.2 % of its weight."""
    return 1.0 + 0.002 * abs(delta_g)


@dataclass(frozen=True)
class TruthEvent:
    """An item going in (``delta_g`` > 0) or out, as it physically happened."""

    t_start: float
    t_settle: float
    delta_g: float


@dataclass(frozen=True)
class Disturbance:
    """Something that moves the reading without changing the merchandise."""

    kind: str  # push, lean, bump, spike, overload, disconnect
    t_start: float
    t_end: float
    magnitude_g: float


@dataclass(frozen=True)
class Trace:
    """A rendered stream: arrays per sample, plus what really happened."""

    t: FloatArray
    grams: FloatArray  # NaN where the scale reports no weight
    stable: npt.NDArray[np.bool_]
    status: tuple[str, ...]
    events: tuple[TruthEvent, ...]
    disturbances: tuple[Disturbance, ...]
    noise_g: float
    initial_g: float
    final_g: float  # merchandise at the end, noise-free

    @property
    def duration_s(self) -> float:
        """Time covered by the samples."""
        return float(self.t[-1] - self.t[0]) if len(self.t) else 0.0

    def slice(self, t0: float, t1: float) -> Trace:
        """The part of the trace from ``t0`` to ``t1``, with the events that start in it."""
        keep = (self.t >= t0) & (self.t < t1)
        first = int(np.argmax(keep))
        return Trace(
            t=self.t[keep],
            grams=self.grams[keep],
            stable=self.stable[keep],
            status=tuple(s for s, k in zip(self.status, keep.tolist(), strict=True) if k),
            events=tuple(e for e in self.events if t0 <= e.t_start < t1),
            disturbances=tuple(d for d in self.disturbances if d.t_end > t0 and d.t_start < t1),
            noise_g=self.noise_g,
            initial_g=float(self.grams[first]),
            final_g=self.final_g,
        )

    def samples(self) -> list[WeightSample]:
        """The trace as the filter receives it."""
        out: list[WeightSample] = []
        for t, g, stable, status in zip(
            self.t.tolist(), self.grams.tolist(), self.stable.tolist(), self.status, strict=True
        ):
            grams = None if math.isnan(g) else g
            out.append(WeightSample(t=t, grams=grams, stable=bool(stable), status=status))
        return out


def _step_response(tau: FloatArray, f_n: float, zeta: float) -> FloatArray:
    """Unit step response of an underdamped spring-damper; 0 before the step."""
    omega = 2.0 * math.pi * f_n
    omega_d = omega * math.sqrt(1.0 - zeta * zeta)
    pos = np.maximum(tau, 0.0)
    decay = np.exp(-zeta * omega * pos)
    shape = np.cos(omega_d * pos) + zeta / math.sqrt(1.0 - zeta * zeta) * np.sin(omega_d * pos)
    out: FloatArray = np.where(tau > 0.0, 1.0 - decay * shape, 0.0)
    return out


def _ramp_response(tau: FloatArray, ramp_s: float, f_n: float, zeta: float) -> FloatArray:
    """Response to a load that comes on linearly over ``ramp_s``: a mean of shifted steps."""
    shifts = np.linspace(0.0, ramp_s, _RAMP_POINTS)
    total = np.zeros_like(tau)
    for shift in shifts:
        total += _step_response(tau - shift, f_n, zeta)
    out: FloatArray = total / _RAMP_POINTS
    return out


def _smoothstep(x: FloatArray) -> FloatArray:
    c = np.clip(x, 0.0, 1.0)
    out: FloatArray = c * c * (3.0 - 2.0 * c)
    return out


@dataclass
class _Item:
    t0: float
    delta_g: float
    ramp_s: float
    f_n: float
    zeta: float


Component = Callable[[FloatArray], FloatArray]


@dataclass
class TraceBuilder:
    """Scripts a scene on a timeline; every action starts at the cursor.

    Actions return the builder, so scenes read as chains. ``advance=False`` leaves the cursor
    where it was, to overlap two actions.
    """

    seed: int
    noise_g: float = 0.5
    initial_g: float = 0.0
    drift_g_per_min: float = 0.0
    spike_rate_hz: float = 0.0
    motion_flag: bool = False
    rate_hz: float = RATE_HZ
    jitter_s: float = 0.0005
    t0: float = 100.0
    cursor: float = field(init=False)
    _rng: np.random.Generator = field(init=False, repr=False)
    _items: list[_Item] = field(init=False, default_factory=list)
    _extra: list[Component] = field(init=False, default_factory=list)
    _disturbances: list[Disturbance] = field(init=False, default_factory=list)
    _gaps: list[tuple[float, float, str]] = field(init=False, default_factory=list)
    _shifts: list[tuple[float, float]] = field(init=False, default_factory=list)
    _spikes: list[tuple[float, int, float]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.cursor = self.t0
        self._rng = np.random.default_rng(self.seed)

    def _u(self, lo: float, hi: float) -> float:
        return float(self._rng.uniform(lo, hi))

    def wait(self, seconds: float) -> TraceBuilder:
        """Move the cursor on."""
        self.cursor += seconds
        return self

    def item(
        self,
        delta_g: float,
        *,
        ramp_s: float | None = None,
        f_n: float | None = None,
        zeta: float | None = None,
        advance: bool = True,
    ) -> TraceBuilder:
        """An item in (positive) or out (negative); the cursor moves to its physical settle."""
        item = _Item(
            t0=self.cursor,
            delta_g=delta_g,
            ramp_s=self._u(0.04, 0.25) if ramp_s is None else ramp_s,
            f_n=self._u(4.0, 8.0) if f_n is None else f_n,
            zeta=self._u(0.5, 0.9) if zeta is None else zeta,
        )
        self._items.append(item)
        if advance:
            self.cursor = _settle_time(item)
        return self

    def add(self, grams: float, *, advance: bool = True) -> TraceBuilder:
        """An item of ``grams`` goes in."""
        return self.item(abs(grams), advance=advance)

    def remove(self, grams: float, *, advance: bool = True) -> TraceBuilder:
        """An item of ``grams`` comes out."""
        return self.item(-abs(grams), advance=advance)

    def push(
        self, seconds: float, *, amplitude_g: float | None = None, advance: bool = True
    ) -> TraceBuilder:
        """The cart is pushed for ``seconds``: vibration plus a slow load shift."""
        start, end = self.cursor, self.cursor + seconds
        amp = self._u(10.0, 60.0) if amplitude_g is None else amplitude_g
        freqs = self._rng.uniform(3.0, 12.0, 3)
        phases = self._rng.uniform(0.0, 2.0 * math.pi, 3)
        weights = self._rng.dirichlet(np.ones(3))
        env_f = self._u(0.5, 2.0)  # floor tiles: the shaking swells and fades
        env_phase = self._u(0.0, 2.0 * math.pi)
        shift_g = self._u(-40.0, 40.0)
        shift_f = self._u(0.1, 0.5)

        def component(t: FloatArray) -> FloatArray:
            edge = _smoothstep((t - start) / 0.3) * _smoothstep((end - t) / 0.3)
            env = 0.6 + 0.4 * np.sin(2.0 * math.pi * env_f * (t - start) + env_phase)
            vib = np.zeros_like(t)
            for w, f, p in zip(weights, freqs, phases, strict=True):
                vib += w * np.sin(2.0 * math.pi * f * (t - start) + p)
            slow = shift_g * np.sin(math.pi * shift_f * (t - start))
            out: FloatArray = edge * (amp * env * vib + slow)
            return out

        self._extra.append(component)
        self._disturbances.append(Disturbance("push", start, end, amp))
        if advance:
            self.cursor = end
        return self

    def lean(
        self,
        seconds: float,
        grams: float | None = None,
        *,
        sway: float | None = None,
        advance: bool = True,
    ) -> TraceBuilder:
        """A hand on the handle for ``seconds`` (ramps included), ``grams`` at full lean.

        ``sway`` is the slow sway as a fraction of the lean (2–8 % when drawn).
        """
        start, end = self.cursor, self.cursor + seconds
        load = self._u(100.0, 800.0) if grams is None else grams
        sway_frac = self._u(0.02, 0.08) if sway is None else sway
        up, down = self._u(0.2, 0.5), self._u(0.2, 0.5)
        sway_f = self._rng.uniform(0.2, 1.5, 2)
        sway_p = self._rng.uniform(0.0, 2.0 * math.pi, 2)
        tremor_frac = self._u(0.003, 0.01) if sway is None else sway / 8.0
        tremor_f = self._u(6.0, 12.0)

        def component(t: FloatArray) -> FloatArray:
            shape = _smoothstep((t - start) / up) * _smoothstep((end - t) / down)
            wobble = 0.5 * (
                np.sin(2.0 * math.pi * sway_f[0] * t + sway_p[0])
                + np.sin(2.0 * math.pi * sway_f[1] * t + sway_p[1])
            )
            tremor = np.sin(2.0 * math.pi * tremor_f * t)
            out: FloatArray = shape * load * (1.0 + sway_frac * wobble + tremor_frac * tremor)
            return out

        self._extra.append(component)
        self._disturbances.append(Disturbance("lean", start, end, load))
        if advance:
            self.cursor = end
        return self

    def bump(self, grams: float | None = None, *, advance: bool = True) -> TraceBuilder:
        """A knock on the frame: a short damped ring."""
        start = self.cursor
        amp = self._u(20.0, 300.0) if grams is None else grams
        freq, tau = self._u(4.0, 10.0), self._u(0.05, 0.2)

        def component(t: FloatArray) -> FloatArray:
            dt = t - start
            ring = amp * np.exp(-np.maximum(dt, 0.0) / tau) * np.sin(2 * math.pi * freq * dt)
            out: FloatArray = np.where(dt >= 0.0, ring, 0.0)
            return out

        self._extra.append(component)
        self._disturbances.append(Disturbance("bump", start, start + 5 * tau, amp))
        if advance:
            self.cursor = start + 5 * tau
        return self

    def spike(self, grams: float, samples: int = 1) -> TraceBuilder:
        """An interference spike of ``samples`` samples at the cursor."""
        self._spikes.append((self.cursor, samples, grams))
        self._disturbances.append(Disturbance("spike", self.cursor, self.cursor, grams))
        return self

    def no_weight(self, seconds: float, status: str = "overload") -> TraceBuilder:
        """The scale reports no weight (overload, underload, unknown) for ``seconds``."""
        start, end = self.cursor, self.cursor + seconds
        self._gaps.append((start, end, status))
        self._disturbances.append(Disturbance(status, start, end, 0.0))
        self.cursor = end
        return self

    def disconnect(self, seconds: float, zero_shift_g: float = 0.0) -> TraceBuilder:
        """The scale is gone for ``seconds`` and comes back reading ``zero_shift_g`` less.

        A scale that re-zeroes on power-up with goods in the basket reads their weight less.
        """
        start, end = self.cursor, self.cursor + seconds
        self._gaps.append((start, end, "unknown"))
        self._shifts.append((end, -zero_shift_g))
        self._disturbances.append(Disturbance("disconnect", start, end, zero_shift_g))
        self.cursor = end
        return self

    def build(self) -> Trace:
        """Render the scene up to the cursor."""
        n = math.floor((self.cursor - self.t0) * self.rate_hz) + 1
        jitter = self._rng.uniform(-self.jitter_s, self.jitter_s, n) if self.jitter_s else 0.0
        t: FloatArray = self.t0 + np.arange(n) / self.rate_hz + jitter
        clean = np.full(n, float(self.initial_g))
        for item in self._items:
            clean += _item_load(item, t)
        merchandise = clean.copy()
        for component in self._extra:
            clean += component(t)
        clean += self.drift_g_per_min / 60.0 * (t - self.t0)
        for when, shift in self._shifts:
            clean += np.where(t >= when, shift, 0.0)
        grams = clean + self._rng.normal(0.0, self.noise_g, n)
        self._add_spikes(t, grams)
        stable = _device_stable(grams, self.rate_hz, self.noise_g) if self.motion_flag else None
        status = ["ok"] * n
        for start, end, kind in self._gaps:
            mask = (t >= start) & (t < end)
            grams[mask] = np.nan
            for i in np.flatnonzero(mask).tolist():
                status[i] = kind
        if stable is None:
            stable = np.zeros(n, dtype=bool)
        else:
            stable &= ~np.isnan(grams)
            for i in np.flatnonzero(~stable & ~np.isnan(grams)).tolist():
                status[i] = "motion"
        events = tuple(
            TruthEvent(item.t0, _settle_time(item), item.delta_g)
            for item in sorted(self._items, key=lambda i: i.t0)
        )
        return Trace(
            t=t,
            grams=np.round(grams, 2),
            stable=stable,
            status=tuple(status),
            events=events,
            disturbances=tuple(sorted(self._disturbances, key=lambda d: d.t_start)),
            noise_g=self.noise_g,
            initial_g=self.initial_g,
            final_g=float(merchandise[-1]) if n else self.initial_g,
        )

    def _add_spikes(self, t: FloatArray, grams: FloatArray) -> None:
        spikes = list(self._spikes)
        if self.spike_rate_hz > 0:
            count = int(self._rng.poisson(self.spike_rate_hz * (self.cursor - self.t0)))
            for when in self._rng.uniform(self.t0, self.cursor, count).tolist():
                size = self._u(20.0, 2000.0) * (1 if self._rng.random() < 0.5 else -1)
                spikes.append((when, int(self._rng.integers(1, 3)), size))
        for when, samples, size in spikes:
            first = int(np.searchsorted(t, when))
            grams[first : first + samples] += size


def _item_load(item: _Item, t: FloatArray) -> FloatArray:
    out: FloatArray = item.delta_g * _ramp_response(t - item.t0, item.ramp_s, item.f_n, item.zeta)
    return out


def _settle_time(item: _Item) -> float:
    """Physical settle: from here on the noise-free response is within the error target."""
    tau = np.arange(0.0, 3.0, 0.0005)
    y = _ramp_response(tau, item.ramp_s, item.f_n, item.zeta)
    outside = np.flatnonzero(np.abs(y - 1.0) * abs(item.delta_g) > error_target_g(item.delta_g))
    last = float(tau[outside[-1]]) if len(outside) else 0.0
    return item.t0 + last + 0.0005


def _device_stable(grams: FloatArray, rate_hz: float, noise_g: float) -> npt.NDArray[np.bool_]:
    """A scale's own motion flag: the last 0.3 s of its readings span a few noise widths."""
    window = max(2, round(0.3 * rate_hz))
    limit = max(1.0, 6.0 * noise_g)
    n = len(grams)
    stable = np.zeros(n, dtype=bool)
    filled = np.nan_to_num(grams, nan=1e12)
    if n >= window:
        view = np.lib.stride_tricks.sliding_window_view(filled, window)
        span = view.max(axis=1) - view.min(axis=1)
        stable[window - 1 :] = span <= limit
    return stable


def random_trip(
    seed: int,
    n_events: int,
    *,
    min_item_g: float = 5.0,
    max_item_g: float = 5000.0,
    noise_g: float | None = None,
    disturbances: bool = True,
    motion_flag: bool = False,
) -> Trace:
    """A shopping trip: ``n_events`` insertions and removals with pushes, leans and bumps.

    Items are log-uniform between ``min_item_g`` and ``max_item_g``. A removal takes out an item
    that went in at least 5 s earlier (a quicker in-and-out is a cancelled pair, tested apart).
    The hand reaches for the next item 0.8 s + Exp(2 s) after the previous one settled. Between
    items, with ``disturbances``, the shopper may push (35 %), lean (15 %) or bump the cart
    (10 %), starting 0.5–3 s after the last item settled and ending at least 0.8 s before the
    next one; spikes arrive at 0.1 per second.
    """
    rng = np.random.default_rng(seed + 1_000_003)
    builder = TraceBuilder(
        seed=seed,
        noise_g=float(rng.uniform(0.3, 1.0)) if noise_g is None else noise_g,
        drift_g_per_min=float(rng.uniform(-1.0, 1.0)),
        spike_rate_hz=0.1 if disturbances else 0.0,
        motion_flag=motion_flag,
    )
    builder.wait(2.0)
    basket: list[tuple[float, float]] = []  # (grams, time it went in)
    for _ in range(n_events):
        if disturbances:
            roll = float(rng.random())
            if roll < 0.6:
                builder.wait(float(rng.uniform(0.5, 3.0)))
                if roll < 0.35:
                    builder.push(float(rng.uniform(2.0, 8.0)))
                elif roll < 0.5:
                    builder.lean(float(rng.uniform(1.0, 3.0)))
                else:
                    builder.bump()
                builder.wait(float(rng.uniform(0.8, 3.0)))
        builder.wait(0.8 + float(rng.exponential(2.0)))
        old = [i for i, (_, t_in) in enumerate(basket) if builder.cursor - t_in >= 5.0]
        if old and rng.random() < 0.4:
            grams, _ = basket.pop(old[int(rng.integers(len(old)))])
            builder.remove(grams)
        else:
            grams = float(math.exp(rng.uniform(math.log(min_item_g), math.log(max_item_g))))
            basket.append((grams, builder.cursor))
            builder.add(grams)
    builder.wait(2.0)
    return builder.build()


def write_csv(trace: Trace, path: Path) -> None:
    """Save ``trace``: one ``# event`` comment line per truth event, then the samples."""
    with path.open("w", newline="") as fh:
        for ev in trace.events:
            fh.write(f"# event {ev.t_start:.4f} {ev.t_settle:.4f} {ev.delta_g:.3f}\n")
        writer = csv.writer(fh)
        writer.writerow(["t", "grams", "stable", "status"])
        for t, g, stable, status in zip(
            trace.t.tolist(), trace.grams.tolist(), trace.stable.tolist(), trace.status, strict=True
        ):
            writer.writerow([f"{t:.4f}", "" if math.isnan(g) else f"{g:.2f}", int(stable), status])


def read_csv(path: Path) -> tuple[list[WeightSample], list[TruthEvent]]:
    """Load a trace saved by :func:`write_csv` as samples and truth events."""
    samples: list[WeightSample] = []
    events: list[TruthEvent] = []
    with path.open(newline="") as fh:
        lines = fh.read().splitlines()
    body: list[str] = []
    for line in lines:
        if line.startswith("# event "):
            a, b, c = (float(x) for x in line.split()[2:5])
            events.append(TruthEvent(a, b, c))
        elif not line.startswith("#"):
            body.append(line)
    for row in csv.DictReader(body):
        grams = float(row["grams"]) if row["grams"] else None
        samples.append(WeightSample(float(row["t"]), grams, row["stable"] == "1", row["status"]))
    return samples, events


FIXTURES: dict[str, Callable[[], Trace]] = {
    "shop_quiet.csv": lambda: (
        TraceBuilder(seed=11, noise_g=0.4, drift_g_per_min=0.5)
        .wait(1.5)
        .add(412.0)
        .wait(2.0)
        .add(38.0)
        .wait(2.0)
        .remove(412.0)
        .wait(2.0)
        .build()
    ),
    "shop_pushed.csv": lambda: (
        TraceBuilder(seed=12, noise_g=0.8, spike_rate_hz=0.2)
        .wait(1.5)
        .add(1250.0)
        .wait(1.0)
        .push(4.0)
        .wait(1.0)
        .add(95.0)
        .wait(1.5)
        .bump(150.0)
        .wait(1.5)
        .build()
    ),
    # From a benchmark trip: a 4.2 kg item still ringing when it settled, then one of 475 g
    # taken out 0.9 s later. The second change once started with the first one's ringing.
    "heavy_ring.csv": lambda: random_trip(20014, 30).slice(273.0, 282.5),
    "shop_leaning.csv": lambda: (
        TraceBuilder(seed=13, noise_g=0.6)
        .wait(1.5)
        .add(640.0)
        .wait(1.0)
        .lean(2.5, 450.0)
        .wait(1.0)
        .remove(640.0)
        .wait(2.0)
        .build()
    ),
}


def write_fixtures(names: Sequence[str] | None = None) -> None:
    """Regenerate the CSV fixtures from their scripts."""
    TRACES_DIR.mkdir(exist_ok=True)
    for name in names or list(FIXTURES):
        write_csv(FIXTURES[name](), TRACES_DIR / name)


# ------------------------------------------------------------- running a filter over a trace

Action = Callable[[WeightFilter], None]


def run_filter(
    samples: Iterable[WeightSample],
    settings: FilterSettings | None = None,
    *,
    at: Sequence[tuple[float, Action]] = (),
    filt: WeightFilter | None = None,
) -> list[FilterEvent]:
    """Feed ``samples``; ``at`` lists ``(t, action)`` to apply just before the first sample >= t."""
    f = filt or WeightFilter(settings)
    pending = sorted(at, key=lambda a: a[0])
    events: list[FilterEvent] = []
    for sample in samples:
        while pending and sample.t >= pending[0][0]:
            pending.pop(0)[1](f)
        events.extend(f.feed(sample))
    return events


def standing_changes(events: Iterable[FilterEvent]) -> list[WeightChange]:
    """The weight changes still standing: reported and not withdrawn."""
    events = list(events)
    withdrawn = {id(e.change) for e in events if isinstance(e, ChangeCancelled)}
    return [e for e in events if isinstance(e, WeightChange) and id(e) not in withdrawn]


def deltas(events: Iterable[FilterEvent]) -> list[float]:
    """Deltas of the standing changes, rounded to 0.1 g for readable failures."""
    return [round(c.delta_g, 1) for c in standing_changes(events)]


def alerts(events: Iterable[FilterEvent]) -> list[str]:
    """Reasons of the zero alerts, in order."""
    return [e.reason for e in events if isinstance(e, ZeroAlert)]


def settled_weights(events: Iterable[FilterEvent]) -> list[float]:
    """Merchandise on each settled plateau, in order."""
    return [e.grams for e in events if isinstance(e, Settled)]


def after_gaps(samples: Sequence[WeightSample], action: Action) -> list[tuple[float, Action]]:
    """``action`` at the first valid sample after each run of samples without a weight."""
    out: list[tuple[float, Action]] = []
    for before, sample in itertools.pairwise(samples):
        if before.grams is None and sample.grams is not None:
            out.append((sample.t, action))
    return out


if __name__ == "__main__":
    write_fixtures()
