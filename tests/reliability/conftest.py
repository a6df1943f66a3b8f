"""Fixtures of the reliability and security suite: counted fuzz inputs and recorded figures.

``fuzz_counts`` counts the inputs each fuzz target was given; ``figures`` collects what the
fault tests measured (faults survived, lost baskets). At the end of the session both are
written to ``out/`` (``fuzz-counts.json``, ``reliability-figures.json``) for
``docs/reliability.md``, merged with what an earlier run of another marker wrote, so
``pytest -m fault`` and ``pytest -m fuzz`` run apart still add up to one report.

Hypothesis profiles: ``ci`` (the default, bounded examples so the suite takes minutes) and
``soak`` (``SMARTCART_FUZZ_PROFILE=soak``: many more examples, for ``bench/soak_bench.py``).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

OUT = Path(__file__).resolve().parents[2] / "out"
FUZZ_PROFILE = os.environ.get("SMARTCART_FUZZ_PROFILE", "ci")

settings.register_profile(
    "reliability-ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
settings.register_profile(
    "reliability-soak",
    max_examples=5_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FUZZ = settings.get_profile(f"reliability-{FUZZ_PROFILE}")
"""Settings for every fuzz test of this suite (apply with ``@FUZZ``)."""


def _merge(path: Path, section: str, values: dict[str, Any]) -> None:
    if not values:
        return
    try:
        current = json.loads(path.read_text())
    except (OSError, ValueError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    current.setdefault(section, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


@pytest.fixture(scope="session")
def fuzz_counts() -> Iterator[Counter[str]]:
    """Inputs tried per fuzz target in this session (``fuzz_counts[target] += 1``)."""
    counts: Counter[str] = Counter()
    yield counts
    _merge(OUT / "fuzz-counts.json", FUZZ_PROFILE, dict(sorted(counts.items())))


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    """Figures the fault and security tests measured, by name."""
    found: dict[str, Any] = {}
    yield found
    _merge(OUT / "reliability-figures.json", "figures", found)
