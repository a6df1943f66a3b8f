"""Generated trips for the session tests, made once per test run.

The trips use a small catalog cut from the demo store (its products keep their names, codes,
weights and prices), so the recognition gallery enrols in seconds: two kinds of produce sold
by weight, packs alike and unlike, an expensive jar and a cheap tub for the label swap, an
age-restricted can and an item too light for the scale.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from cart_app.sessions.sim.generate import GenerateSettings, simulate_trips
from cart_app.sessions.sim.plan import TripSettings
from cart_app.store_layout import demo_store_dir

SKUS = (
    "FV-BANANA",
    "FV-ORANGE",
    "D-MILK-STD",
    "J-APPLE-2L",
    "S-CRISPBREAD",
    "S-PEANUT-BUTTER",
    "D-SOUR-CREAM",
    "J-LAGER-50CL",
    "K-CHEWING-GUM",
)
TRIPS = 6
SEED = 12
SETTINGS = GenerateSettings(
    trip=replace(
        TripSettings(),
        min_items=4,
        max_items=7,
        pair_share=0.0,
        removal_share=0.12,
        held_share=0.06,
        adversarial_share=0.2,
        bag_share=0.5,
        multi_unit_share=0.2,
        enrol_views=(1001, 1002, 1003),
    )
)


def small_catalog(folder: Path) -> Path:
    """The demo store cut down to :data:`SKUS` (offers on other products dropped)."""
    data = json.loads((demo_store_dir() / "catalog.json").read_text(encoding="utf-8"))
    data["products"] = [p for p in data["products"] if p["sku"] in SKUS]
    data["offers"] = [o for o in data["offers"] if set(o["skus"]) <= set(SKUS)]
    path = folder / "catalog.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trip_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """(batch folder, trip folders) of the seeded test trips."""
    out = tmp_path_factory.mktemp("trips")
    catalog = small_catalog(tmp_path_factory.mktemp("catalog"))
    folders = simulate_trips(out, TRIPS, SEED, SETTINGS, catalog_path=catalog)
    return out, folders


@pytest.fixture
def trip_copy(trip_batch: tuple[Path, list[Path]], tmp_path: Path) -> Path:
    """A private copy of the first trip (next to a copy of the gallery), to damage."""
    out, folders = trip_batch
    for gallery in out.glob("gallery-*.npz"):
        shutil.copyfile(gallery, tmp_path / gallery.name)
    target = tmp_path / folders[0].name
    shutil.copytree(folders[0], target)
    return target
