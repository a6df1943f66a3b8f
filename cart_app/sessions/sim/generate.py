"""``smartcart simulate-trips``: generated trips on the demo store, written as sessions.

Each trip is a session folder (``docs/session-format.md``) with its truth; the batch folder
holds the recognition gallery they share::

    OUT/gallery-<model>.npz, gallery-<model>.json   (one per recognition model)
    OUT/trip-00000/session.json, config.json, catalog.json, cameras/basket/…, scale.wire,
                   inputs.jsonl, truth.json
    …

A trip is a pure function of (catalog, settings, seed, trip number): the same command writes
the same sessions (frames are JPEG-encoded by the same OpenCV, so the bytes match too).
"""

from __future__ import annotations

import multiprocessing
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cart_app.catalog_schema import CatalogData, load_catalog_file
from cart_app.config import load_config
from cart_app.config.schema import CameraConfig, CartConfig
from cart_app.domain import BasketLine
from cart_app.pricing import PricingPolicy, price_basket
from cart_app.sessions.format import (
    CATALOG_FILE,
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    INPUTS_FILE,
    TRUTH_FILE,
    WIRE_FILE,
    CameraEntry,
    GeneratorInfo,
    ScaleEntry,
    SessionMeta,
    file_ref,
    write_meta,
)
from cart_app.sessions.inputs import write_inputs
from cart_app.sessions.replay_vision import current_manifest, model_ref
from cart_app.sessions.sim.frames import CameraScene
from cart_app.sessions.sim.gallery import build_gallery
from cart_app.sessions.sim.plan import Planner, TripPlan, TripSettings, truth_lines
from cart_app.sessions.sim.scalebytes import wire_bytes
from cart_app.sessions.truth import Truth, write_truth
from cart_app.store_layout import demo_store_dir
from scale.wirelog import format_entry
from vision.recording import FrameRecorder, RecordingSettings
from vision.types import Frame

TOOL = "smartcart simulate-trips 1"
CAMERA_ID = "basket"
T_START = 1000.0
WALL_START = 1_767_225_600.0  # 2026-01-01T00:00Z; trip n starts n hours later


@dataclass(frozen=True, slots=True)
class GenerateSettings:
    """The camera and scale of generated trips, and the trip settings."""

    trip: TripSettings = field(default_factory=TripSettings)
    width: int = 320
    height: int = 240
    fps: float = 8.0
    jpeg_quality: int = 85
    protocol: str = "cartboard"
    barcode_time_budget_s: float = 0.01
    """Barcode reader budget per frame: one view (``replay_vision.VIEW_COST_S``), the whole
    frame through the primary decoders. At 320×240 a pack's symbol has a third of a pixel per
    module and is not read by any stage; the upscaled views that follow cost ten times more."""


def trip_config(settings: GenerateSettings) -> CartConfig:
    """The configuration generated trips run with: the laptop profile, one basket camera."""
    base = load_config(None, profile="laptop").config
    camera = CameraConfig(
        id=CAMERA_ID,
        source=f"folder:cameras/{CAMERA_ID}",
        width=settings.width,
        height=settings.height,
        fps=settings.fps,
    )
    vision = base.vision.model_copy(
        update={"barcode_time_budget_s": settings.barcode_time_budget_s}
    )
    scale = base.scale.model_copy(update={"protocol": settings.protocol})
    store = base.store.model_copy(update={"mode": "embedded"})
    return base.model_copy(
        update={"cameras": (camera,), "vision": vision, "scale": scale, "store": store}
    )


def _truth(plan: TripPlan, data: CatalogData, config: CartConfig) -> Truth:
    lines = truth_lines(plan.basket)
    products = {p.sku: p for p in data.products}
    basket = [
        BasketLine(line_id=i, sku=item.sku, quantity=item.quantity, weight_g=item.weight_g or 0.0)
        for i, item in enumerate(lines, start=1)
    ]
    policy = PricingPolicy(
        {rate.tax_class: rate for rate in data.tax_rates},
        data.store.tax_included,
        config.pricing.weight_increment_g,
    )
    receipt = price_basket(basket, products, data.offers, (), policy)
    return Truth(
        lines=tuple(lines),
        item_count=receipt.item_count,
        items_handled=plan.items_handled,
        total_cents=receipt.total_cents,
        actions=tuple(plan.actions),
    )


def write_trip(
    folder: Path,
    *,
    seed: int,
    trip: int,
    settings: GenerateSettings,
    catalog_path: Path,
    gallery_path: Path,
    manifest: Path,
) -> Path:
    """Plan trip ``trip`` of ``seed`` and write it as a session in ``folder`` (replaced)."""
    data = load_catalog_file(catalog_path)
    config = trip_config(settings)
    rng = np.random.default_rng([seed, trip])
    session_id = f"sim-{seed}-{trip:05d}"
    plan = Planner(data.products, settings.trip, rng).plan(T_START, session_id)
    t_end = plan.t_end + 1.0
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copyfile(catalog_path, folder / CATALOG_FILE)
    (folder / CONFIG_FILE).write_text(config.model_dump_json(indent=1) + "\n", encoding="utf-8")
    # Frames: the recorder a live cart uses, so the format is the same byte for byte.
    scene = CameraScene(settings.width, settings.height, settings.fps, seed=seed * 7919 + trip)
    recording = RecordingSettings(jpeg_quality=settings.jpeg_quality, min_free_bytes=0)
    with FrameRecorder(folder / "cameras" / CAMERA_ID, recording) as recorder:
        for seq, (t, image) in enumerate(scene.frames(plan.passes, T_START)):
            recorder.write(Frame(CAMERA_ID, t, image, seq))
    entries = wire_bytes(
        plan.loads,
        t_start=T_START,
        t_end=t_end,
        seed=seed * 104729 + trip,
        protocol=settings.protocol,
    )
    with (folder / WIRE_FILE).open("w", encoding="ascii") as fh:
        for entry in entries:
            fh.write(format_entry(entry) + "\n")
    write_inputs(folder / INPUTS_FILE, plan.inputs)
    write_truth(folder / TRUTH_FILE, _truth(plan, data, config))
    meta = SessionMeta(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        session_id=session_id,
        kind="generated",
        complete=True,
        t_start=T_START,
        t_end=t_end,
        wall_at_start=WALL_START + 3600.0 * trip,
        catalog=file_ref(folder, folder / CATALOG_FILE),
        gallery=file_ref(folder, gallery_path),
        model=model_ref(manifest),
        cameras=(CameraEntry(id=CAMERA_ID, folder=f"cameras/{CAMERA_ID}"),),
        scale=ScaleEntry(protocol=config.scale.protocol),
        truth=TRUTH_FILE,
        generator=GeneratorInfo(tool=TOOL, seed=seed, trip=trip),
    )
    write_meta(folder, meta)
    return folder


def trip_folder(out: Path, trip: int) -> Path:
    """Where trip ``trip`` of a batch lives."""
    return out / f"trip-{trip:05d}"


def _write_one(args: tuple[Path, int, int, GenerateSettings, Path, Path, Path]) -> Path:
    out, seed, trip, settings, catalog_path, gallery_path, manifest = args
    return write_trip(
        trip_folder(out, trip),
        seed=seed,
        trip=trip,
        settings=settings,
        catalog_path=catalog_path,
        gallery_path=gallery_path,
        manifest=manifest,
    )


def simulate_trips(
    out: Path,
    n: int,
    seed: int,
    settings: GenerateSettings | None = None,
    *,
    first: int = 0,
    jobs: int = 1,
    catalog_path: Path | None = None,
) -> list[Path]:
    """Write trips ``first`` … ``first + n - 1`` of ``seed`` into ``out``; their folders."""
    settings = settings or GenerateSettings()
    catalog_path = catalog_path or demo_store_dir() / "catalog.json"
    out.mkdir(parents=True, exist_ok=True)
    data = load_catalog_file(catalog_path)
    manifest = current_manifest()
    gallery = build_gallery(
        out,
        data.products,
        width=settings.width,
        height=settings.height,
        fps=settings.fps,
        views=settings.trip.enrol_views,
        manifest=manifest,
    )
    work = [
        (out, seed, t, settings, catalog_path, gallery, manifest) for t in range(first, first + n)
    ]
    if jobs <= 1:
        return [_write_one(args) for args in work]
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        return list(pool.imap(_write_one, work))
