"""Building blocks of the weight filter: spike pre-filter, noise estimate, plateau detection.

Each block is a small deterministic state machine fed one value at a time; none reads a clock.
They are kept apart from :mod:`scale.filter` so that each can be reasoned about (and tested)
on its own.
"""

from __future__ import annotations

import math
from collections import deque


class MedianPrefilter:
    """Running median over the last ``window`` samples, against one- and two-sample spikes.

    The output is stamped with the time of the window's middle sample, so the filtered signal
    is aligned with the physical one (the filter's delay is then visible only as latency).
    """

    def __init__(self, window: int) -> None:
        if window < 1 or window % 2 == 0:
            raise ValueError("median_window must be a positive odd number")
        self._window = window
        self._buf: deque[tuple[float, float]] = deque(maxlen=window)

    def push(self, t: float, grams: float) -> tuple[float, float] | None:
        """Add a sample; ``(t_middle, median)`` once the window is full, else ``None``."""
        self._buf.append((t, grams))
        if len(self._buf) < self._window:
            return None
        middle = self._window // 2
        return self._buf[middle][0], sorted(g for _, g in self._buf)[middle]

    def reset(self) -> None:
        """Forget everything, after a gap: values on either side must not be mixed."""
        self._buf.clear()


# For gaussian noise, median(|x_i - x_{i-1}|) = 0.6745 * sqrt(2) * sigma.
_MAD_DIFF_TO_SIGMA = 1.0 / (0.6745 * math.sqrt(2.0))


class NoiseEstimator:
    """Estimates the sensor noise (standard deviation, grams) of the raw samples.

    Uses the median absolute difference between consecutive samples over blocks of
    ``block`` samples: a step or a spike moves only one or two differences, so an item going in
    barely touches it. Vibration while the cart is pushed inflates whole blocks, so the
    estimate is a low quantile of the last ``history`` blocks: the quiet moments of the trip.
    """

    def __init__(self, block: int = 80, history: int = 30, quantile: float = 0.25) -> None:
        self._block = block
        self._quantile = quantile
        self._diffs: list[float] = []
        self._blocks: deque[float] = deque(maxlen=history)
        self._last: float | None = None
        self.sigma_g: float | None = None

    def push(self, grams: float) -> bool:
        """Add one raw sample; ``True`` when the estimate was just updated."""
        if self._last is not None:
            self._diffs.append(abs(grams - self._last))
        self._last = grams
        if len(self._diffs) >= self._block:
            self._diffs.sort()
            self._blocks.append(self._diffs[len(self._diffs) // 2] * _MAD_DIFF_TO_SIGMA)
            self._diffs.clear()
            ranked = sorted(self._blocks)
            self.sigma_g = ranked[int(self._quantile * (len(ranked) - 1))]
            return True
        return False

    def break_continuity(self) -> None:
        """The next sample does not follow the last one (a gap): do not difference across it."""
        self._last = None


class RawSpread:
    """Robust spread (standard deviation, from the median absolute deviation) of raw samples.

    The median pre-filter hides shaking faster than its window (a cart pushed over tiles
    rattles at up to 12 Hz): the filtered signal can look flat while the raw samples swing by
    several grams. Their spread shows it. Being median-based, a lone spike does not.
    """

    def __init__(self, span_s: float) -> None:
        self._span_s = span_s
        self._raw: deque[tuple[float, float]] = deque()

    def push(self, t: float, grams: float) -> None:
        """Add one raw sample."""
        self._raw.append((t, grams))
        while self._raw[0][0] < t - self._span_s:
            self._raw.popleft()

    def since(self, t0: float) -> float:
        """Spread of the samples from ``t0`` on (0 when there are fewer than two)."""
        values = sorted(g for t, g in self._raw if t >= t0)
        if len(values) < 2:
            return 0.0
        middle = values[len(values) // 2]
        deviations = sorted(abs(g - middle) for g in values)
        return 1.4826 * deviations[len(deviations) // 2]

    def reset(self) -> None:
        """Forget everything (a gap)."""
        self._raw.clear()


class StabilityRun:
    """The longest recent run of filtered samples that all lie within a band of their mean.

    A plateau is a run that has lasted ``settle_time_s``. When a new value does not fit, the
    oldest values are dropped until the rest fit again, so the run restarts at the first
    value of the new level rather than at the next sample. The run never spans more than
    ``max_span_s``, which bounds the work per sample when a plateau is held but may not be
    declared (the scale's own motion flag still says motion).
    """

    def __init__(self, max_span_s: float) -> None:
        self._max_span_s = max_span_s
        self._run: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def push(self, t: float, x: float, band_g: float) -> None:
        """Add a filtered value; keep only the newest values that fit ``band_g``."""
        self._run.append((t, x))
        self._sum += x
        while len(self._run) > 1 and (
            t - self._run[0][0] > self._max_span_s or not self._fits(band_g)
        ):
            _, old = self._run.popleft()
            self._sum -= old

    def _fits(self, band_g: float) -> bool:
        mean = self._sum / len(self._run)
        values = [x for _, x in self._run]
        return max(values) - mean <= band_g and mean - min(values) <= band_g

    @property
    def first_t(self) -> float:
        """Time of the run's first value; only meaningful when the run is not empty."""
        return self._run[0][0]

    @property
    def held_s(self) -> float:
        """How long the run has lasted (time between its first and last value)."""
        return self._run[-1][0] - self._run[0][0] if self._run else 0.0

    @property
    def mean(self) -> float:
        """Mean of the run; only meaningful when the run is not empty."""
        return self._sum / len(self._run)

    @property
    def std(self) -> float:
        """Standard deviation of the run's values about their mean."""
        n = len(self._run)
        if n < 2:
            return 0.0
        # A running sum of squares loses precision on a heavy basket; n is small.
        mean = self._sum / n
        return math.sqrt(sum((x - mean) ** 2 for _, x in self._run) / (n - 1))

    def values(self) -> list[tuple[float, float]]:
        """The run's ``(t, x)`` values, oldest first."""
        return list(self._run)

    def reset(self) -> None:
        """Start over."""
        self._run.clear()
        self._sum = 0.0


class PlateauAverage:
    """The level of a settled plateau: the mean of its last ``span_s`` seconds of values.

    Values are committed ``lag`` samples late. When the weight starts to leave the plateau, the
    first samples of the change are still inside the band; dropping the uncommitted ones keeps
    them out of the level, which is what the next change is measured from. A bounded span lets
    the level follow slow drift instead of averaging it in.
    """

    def __init__(self, span_s: float, lag: int) -> None:
        self._span_s = span_s
        self._lag = lag
        self._pending: deque[tuple[float, float]] = deque()
        self._committed: deque[tuple[float, float]] = deque()
        self._sum = 0.0

    def start(self, values: list[tuple[float, float]]) -> None:
        """Begin a new plateau from the run that settled (all of it committed)."""
        self._pending.clear()
        self._committed.clear()
        self._sum = 0.0
        for t, x in values:
            self._commit(t, x)

    def push(self, t: float, x: float) -> None:
        """Add a value that lies on the plateau."""
        self._pending.append((t, x))
        if len(self._pending) > self._lag:
            self._commit(*self._pending.popleft())

    def _commit(self, t: float, x: float) -> None:
        self._committed.append((t, x))
        self._sum += x
        while self._committed and self._committed[0][0] < t - self._span_s:
            _, old = self._committed.popleft()
            self._sum -= old

    def drop_pending(self) -> None:
        """The weight is leaving: the last few values may already be part of the change."""
        self._pending.clear()

    @property
    def level(self) -> float:
        """The plateau's current level (grams, gross)."""
        return self._sum / len(self._committed)
