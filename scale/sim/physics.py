"""A time-stepped, deterministic model of a cart basket standing on four load cells.

The model knows what lies in the basket (items at positions on its floor), who is leaning on it
and whether the cart is being pushed, and turns that into what each load cell would measure at a
given time: a second-order spring-damper response to every change of load (it settles in a few
hundred milliseconds with a slight overshoot), plus gaussian noise, rare single-sample spikes,
slow thermal drift, vibration while the cart rolls and bumps from the floor.

Time is always passed in (``step(t)``); nothing here reads a clock, so tests run the model much
faster than real time, and one seed gives one sequence of samples. See docs/scale-simulator.md.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

CELLS = 4
# Cell order is the cart board's wiring order: front-left, front-right, rear-left, rear-right.
CELL_NAMES = ("front-left", "front-right", "rear-left", "rear-right")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Position:
    """A point on the basket floor: ``x`` from left (0) to right (1), ``y`` from front (0) to rear.

    A load at a point is shared among the four corner cells bilinearly, so a load in the centre
    puts a quarter on each cell and a load right at a corner puts all of it on that cell.
    """

    x: float
    y: float
    name: str = ""

    def __post_init__(self) -> None:
        if not (0.0 <= self.x <= 1.0 and 0.0 <= self.y <= 1.0):
            raise ValueError(f"a position lies within 0..1 on both axes, got ({self.x}, {self.y})")

    def shares(self) -> tuple[float, float, float, float]:
        """The fraction of a load at this point carried by each cell (sums to 1)."""
        x, y = self.x, self.y
        return ((1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y)

    def label(self) -> str:
        """The name the position was given, else its coordinates."""
        return self.name or f"{self.x:g},{self.y:g}"


# Named spots. The corners are not the very corners: an item put "in the front-left corner" still
# rests partly on the other cells through the basket floor.
POSITIONS: dict[str, Position] = {
    name: Position(x, y, name)
    for name, x, y in (
        ("centre", 0.5, 0.5),
        ("front", 0.5, 0.15),
        ("rear", 0.5, 0.85),
        ("left", 0.15, 0.5),
        ("right", 0.85, 0.5),
        ("front-left", 0.15, 0.15),
        ("front-right", 0.85, 0.15),
        ("rear-left", 0.15, 0.85),
        ("rear-right", 0.85, 0.85),
    )
}
POSITIONS["center"] = POSITIONS["centre"]
CENTRE = POSITIONS["centre"]
# The shopper leans on the handle, which is at the rear of the basket.
HANDLE = Position(0.5, 1.0, "handle")


def parse_position(text: str) -> Position:
    """A named position (``front-left``, ``centre``...) or ``x,y`` in 0..1; ``ValueError`` else."""
    key = text.strip().lower()
    if key in POSITIONS:
        return POSITIONS[key]
    parts = key.split(",")
    if len(parts) == 2:
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            pass
        else:
            if math.isfinite(x) and math.isfinite(y):
                return Position(x, y)
    names = ", ".join(sorted(POSITIONS))
    raise ValueError(f"unknown position {text!r} (use x,y in 0..1 or one of: {names})")


@dataclass(frozen=True, slots=True)
class BasketParams:
    """Physical parameters of the simulated basket; defaults are a typical 30 kg cart basket.

    Weights are grams of the whole basket unless named per cell; times are seconds.
    """

    capacity_g: float = 30_000.0
    # Mechanical response to a change of load: time to stay within 2 % of the step, and the
    # fraction by which the first swing overshoots it. Together they fix the damping ratio and
    # natural frequency of the spring-damper.
    settle_s: float = 0.25
    overshoot: float = 0.05
    # Standard deviation of the gaussian noise on the total (split evenly over the cells).
    noise_g: float = 0.5
    # Single-sample spikes on one cell (electrical glitches): mean rate and typical size.
    spike_rate_hz: float = 0.02
    spike_g: float = 150.0
    # Thermal drift of the zero while the cells warm up: final size and time constant.
    drift_g: float = 2.0
    drift_tau_s: float = 300.0
    # While the cart is pushed: wheel and frame vibration (main frequency, amplitude on the
    # total) and bumps from floor joints (rate and typical size).
    push_hz: float = 3.0
    push_amplitude_g: float = 30.0
    bump_rate_hz: float = 1.0
    bump_g: float = 60.0
    # A lean ramps in and out over this time; a hand is never still, so it trembles.
    lean_ramp_s: float = 0.25
    lean_tremor_g: float = 4.0
    # The noise-free weight must stay within the band for the window to count as settled,
    # as a real indicator's motion detector decides (on its filtered value).
    motion_window_s: float = 0.3
    motion_band_g: float = 1.0

    def __post_init__(self) -> None:
        positive = (
            "capacity_g",
            "settle_s",
            "drift_tau_s",
            "push_hz",
            "lean_ramp_s",
            "motion_window_s",
            "motion_band_g",
        )
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        non_negative = (
            "noise_g",
            "spike_rate_hz",
            "spike_g",
            "push_amplitude_g",
            "bump_rate_hz",
            "bump_g",
            "lean_tremor_g",
        )
        for name in non_negative:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be zero or more, got {value!r}")
        if not math.isfinite(self.drift_g):
            raise ValueError("drift_g must be finite")
        if not 0.001 <= self.overshoot <= 0.5:
            raise ValueError(f"overshoot must be within 0.001..0.5, got {self.overshoot!r}")

    @property
    def damping_ratio(self) -> float:
        """The damping ratio that gives ``overshoot`` (always below 1: underdamped)."""
        log_os = math.log(self.overshoot)
        return -log_os / math.sqrt(math.pi**2 + log_os**2)

    @property
    def natural_rad_s(self) -> float:
        """Natural angular frequency for a 2 % settling time of ``settle_s``."""
        return 4.0 / (self.damping_ratio * self.settle_s)


@dataclass(frozen=True, slots=True)
class Item:
    """Something lying in the basket."""

    item_id: int
    grams: float
    position: Position

    def describe(self) -> str:
        """``item 3: 250 g at front-left``."""
        return f"item {self.item_id}: {self.grams:g} g at {self.position.label()}"


class Items:
    """What lies in the basket, with ids; the model and the script checker share this book."""

    def __init__(self) -> None:
        self._items: dict[int, Item] = {}
        self._next_id = 1

    @property
    def items(self) -> tuple[Item, ...]:
        """The items in the order they were put in."""
        return tuple(self._items.values())

    @property
    def total_g(self) -> float:
        """Sum of the items' weights."""
        return sum(item.grams for item in self._items.values())

    def put(self, grams: float, position: Position = CENTRE) -> Item:
        """Add an item; ids count up from 1 and are never reused."""
        if not (math.isfinite(grams) and grams > 0):
            raise ValueError(f"an item weighs more than 0 g, got {grams!r}")
        item = Item(self._next_id, float(grams), position)
        self._items[item.item_id] = item
        self._next_id += 1
        return item

    def remove(self, item_id: int) -> Item:
        """Take out the item with this id; ``ValueError`` when it is not in the basket."""
        try:
            return self._items.pop(item_id)
        except KeyError:
            raise ValueError(f"no item {item_id} in the basket ({self._listing()})") from None

    def take(self, grams: float) -> Item:
        """Take out the latest item weighing ``grams``; ``ValueError`` when there is none."""
        for item in reversed(self._items.values()):
            if math.isclose(item.grams, grams, rel_tol=1e-9, abs_tol=1e-6):
                return self._items.pop(item.item_id)
        raise ValueError(f"no item of {grams:g} g in the basket ({self._listing()})")

    def _listing(self) -> str:
        if not self._items:
            return "it is empty"
        return "holds " + ", ".join(f"{i.item_id}: {i.grams:g} g" for i in self._items.values())


@dataclass(frozen=True, slots=True)
class BasketState:
    """What the cells measure at time ``t``.

    ``cells_g`` and ``total_g`` are the measurement (noise, spikes, drift, vibration included);
    ``load_g`` is the static load a perfect scale would show (items plus any lean), ``items_g``
    the items alone. ``settled`` is the motion detector's verdict; ``overloaded`` says the
    measured total exceeds the capacity.
    """

    t: float
    cells_g: tuple[float, ...]
    total_g: float
    load_g: float
    items_g: float
    settled: bool
    overloaded: bool


@dataclass(slots=True)
class _Lean:
    start: float
    duration: float
    grams: float
    phases: tuple[float, float]
    tremor_hz: tuple[float, float] = field(default=(1.3, 3.1))


class BasketModel:
    """The basket, stepped forward in time by :meth:`step`; deterministic for a given seed.

    Changes (:meth:`put`, :meth:`take`, :meth:`lean`...) take effect at the time of the last
    step. Step at 20 Hz or more so that the motion detector has a history to judge.
    """

    def __init__(self, params: BasketParams | None = None, seed: int = 0, t0: float = 0.0) -> None:
        self.params = params or BasketParams()
        self._rng = np.random.default_rng(seed)
        self._t0 = t0
        self._t = t0
        self._items = Items()
        self._leans: list[_Lean] = []
        zeta = self.params.damping_ratio
        self._wn = self.params.natural_rad_s
        self._zw = zeta * self._wn
        self._wd = self._wn * math.sqrt(1.0 - zeta * zeta)
        # Mechanical state per cell: displacement (in grams of load) and its rate of change.
        self._pos: FloatArray = np.zeros(CELLS)
        self._vel: FloatArray = np.zeros(CELLS)
        # Each cell drifts its own way; the sum drifts by drift_g.
        split = self._rng.uniform(0.5, 1.5, CELLS)
        self._drift_final: FloatArray = self.params.drift_g * split / split.sum()
        # Vibration phases are fixed per model so that one seed gives one waveform.
        self._vib_phase: FloatArray = self._rng.uniform(0.0, 2 * math.pi, 3)
        self._pushing = False
        self._push_until: float | None = None
        self._push_level = 0.0
        self._history: deque[tuple[float, float]] = deque()
        self._state = BasketState(t0, (0.0,) * CELLS, 0.0, 0.0, 0.0, True, False)

    # -- what is in and on the basket ---------------------------------------------------------

    @property
    def t(self) -> float:
        """Time of the last step."""
        return self._t

    @property
    def state(self) -> BasketState:
        """The result of the last step."""
        return self._state

    @property
    def items(self) -> tuple[Item, ...]:
        """The items in the basket, in the order they were put in."""
        return self._items.items

    @property
    def pushing(self) -> bool:
        """Whether the cart is being pushed."""
        return self._pushing

    def put(self, grams: float, position: Position = CENTRE) -> Item:
        """Put an item of ``grams`` at ``position``; returns it with its new id."""
        return self._items.put(grams, position)

    def take(self, grams: float) -> Item:
        """Take out the latest item weighing ``grams`` (``ValueError`` when there is none)."""
        return self._items.take(grams)

    def remove(self, item_id: int) -> Item:
        """Take out the item with id ``item_id`` (``ValueError`` when it is not there)."""
        return self._items.remove(item_id)

    def set_pushing(self, on: bool, duration_s: float | None = None) -> None:
        """Start or stop pushing the cart; with ``duration_s``, pushing stops by itself."""
        if duration_s is not None and not (math.isfinite(duration_s) and duration_s > 0):
            raise ValueError(f"a push lasts more than 0 s, got {duration_s!r}")
        self._pushing = on
        self._push_until = self._t + duration_s if on and duration_s is not None else None

    def lean(self, grams: float, duration_s: float = 1.5) -> None:
        """A shopper presses on the handle with ``grams`` of force for ``duration_s``."""
        if not (math.isfinite(grams) and grams > 0):
            raise ValueError(f"a lean presses with more than 0 g, got {grams!r}")
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise ValueError(f"a lean lasts more than 0 s, got {duration_s!r}")
        phases = self._rng.uniform(0.0, 2 * math.pi, 2)
        self._leans.append(_Lean(self._t, duration_s, grams, (float(phases[0]), float(phases[1]))))

    # -- time ---------------------------------------------------------------------------------

    def _lean_force(self, t: float) -> float:
        force = 0.0
        ramp_max = self.params.lean_ramp_s
        for lean in self._leans:
            u = t - lean.start
            if not 0.0 <= u <= lean.duration:
                continue
            ramp = min(ramp_max, lean.duration / 2)
            edge = min(u, lean.duration - u)
            envelope = 1.0 if edge >= ramp else 0.5 * (1 - math.cos(math.pi * edge / ramp))
            tremor = sum(
                math.sin(2 * math.pi * hz * u + phase)
                for hz, phase in zip(lean.tremor_hz, lean.phases, strict=True)
            )
            force += envelope * (lean.grams + 0.5 * self.params.lean_tremor_g * tremor)
        return force

    def _target(self, t: float) -> tuple[FloatArray, float, float]:
        """Static load per cell at ``t``, the total load and the items' weight."""
        target = np.zeros(CELLS)
        for item in self._items.items:
            target += item.grams * np.asarray(item.position.shares())
        items_g = float(target.sum())
        lean = self._lean_force(t)
        if lean:
            target += lean * np.asarray(HANDLE.shares())
        return target, float(target.sum()), items_g

    def _vibration(self, t: float) -> FloatArray:
        """Vertical shaking (adds to the total) and pitching (front against rear) while pushed."""
        level = self._push_level
        if level <= 1e-6:
            return np.zeros(CELLS)
        p = self.params
        phi = self._vib_phase
        w = 2 * math.pi * p.push_hz * t
        vertical = p.push_amplitude_g * (
            0.7 * math.sin(w + phi[0]) + 0.3 * math.sin(2.3 * w + phi[1])
        )
        pitch = 0.5 * p.push_amplitude_g * math.sin(1.3 * w + phi[2])
        return level * (vertical / CELLS + pitch / CELLS * np.array([1.0, 1.0, -1.0, -1.0]))

    def step(self, t: float) -> BasketState:
        """Advance to time ``t`` (not before the last step) and return what the cells measure."""
        dt = t - self._t
        if not (math.isfinite(t) and dt >= 0):
            raise ValueError(f"time must move forward: last step {self._t}, asked for {t}")
        p = self.params
        rng = self._rng
        if self._push_until is not None and t >= self._push_until:
            self._pushing, self._push_until = False, None
        # Pushing fades in and out over ~0.15 s rather than switching.
        goal = 1.0 if self._pushing else 0.0
        self._push_level += (goal - self._push_level) * (1.0 - math.exp(-dt / 0.15))
        # The load is held constant over the step (at its midpoint): exact for placed items,
        # close enough for the slow lean envelope.
        target, load_g, items_g = self._target(self._t + dt / 2)
        self._respond(target, dt)
        if (
            self._pushing
            and p.bump_rate_hz > 0
            and rng.random() < -math.expm1(-p.bump_rate_hz * dt)
        ):
            # A floor joint kicks the basket; the spring-damper rings it down. The kick size is
            # chosen so the first swing reaches about bump_g on the total.
            kick = (1.0 if rng.random() < 0.5 else -1.0) * rng.uniform(0.5, 1.5) * p.bump_g / CELLS
            self._vel += kick * self._wn * 2.0 * rng.uniform(0.7, 1.3, CELLS)
        drift = self._drift_final * -math.expm1(-(t - self._t0) / p.drift_tau_s)
        clean = self._pos + self._vibration(t) + drift
        measured = clean + rng.normal(0.0, p.noise_g / math.sqrt(CELLS), CELLS)
        if p.spike_rate_hz > 0 and rng.random() < -math.expm1(-p.spike_rate_hz * dt):
            cell = int(rng.integers(CELLS))
            measured[cell] += (
                (1.0 if rng.random() < 0.5 else -1.0) * rng.uniform(0.5, 1.5) * p.spike_g
            )
        self._t = t
        self._leans = [lean for lean in self._leans if t <= lean.start + lean.duration]
        settled = self._settled(t, float(clean.sum()), float(np.abs(self._pos - target).sum()))
        total = float(measured.sum())
        self._state = BasketState(
            t=t,
            cells_g=tuple(float(v) for v in measured),
            total_g=total,
            load_g=load_g,
            items_g=items_g,
            settled=settled,
            overloaded=total > p.capacity_g,
        )
        return self._state

    def _respond(self, target: FloatArray, dt: float) -> None:
        """Exact solution of the underdamped spring-damper over ``dt`` with a constant load."""
        if dt == 0:
            return
        e = self._pos - target
        v = self._vel
        decay = math.exp(-self._zw * dt)
        c, s = math.cos(self._wd * dt), math.sin(self._wd * dt)
        e_new = decay * (e * c + (v + self._zw * e) / self._wd * s)
        v_new = decay * (v * c - (self._wn**2 * e + self._zw * v) / self._wd * s)
        self._pos = target + e_new
        self._vel = v_new

    def _settled(self, t: float, clean_total: float, off_target: float) -> bool:
        history = self._history
        history.append((t, clean_total))
        while history and history[0][0] < t - self.params.motion_window_s:
            history.popleft()
        values = [v for _, v in history]
        band = self.params.motion_band_g
        # The distance to the target also counts, so that sparse steps cannot hide a swing.
        return max(values) - min(values) <= band and off_target <= band / 2
