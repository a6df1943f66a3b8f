"""Exponential backoff with jitter, for the store link's retries after a failure."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling to max."""

    def __init__(
        self, initial_s: float, max_s: float, rng: Callable[[], float] = random.random
    ) -> None:
        """``rng`` returns floats in [0, 1) (injectable for tests)."""
        self._initial = initial_s
        self._max = max_s
        self._rng = rng
        self._failures = 0

    def reset(self) -> None:
        """After a success: the next failure waits the initial delay again."""
        self._failures = 0

    def next_delay(self) -> float:
        """The delay after one more failure."""
        ceiling = min(self._max, self._initial * 2.0 ** min(self._failures, 30))
        self._failures += 1
        # Jitter spreads the carts of a store that all lost the network at the same moment.
        return ceiling * (0.5 + 0.5 * self._rng())
