"""The composition root: builds every part from config, starts them in order, stops in reverse.

Parts receive their collaborators here and nowhere else; nothing is started at import. A part
that fails to start stops the ones already running, so a half-started cart never lingers.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Protocol

from cart_app.cameras import CameraRig, build_cameras
from cart_app.catalog import Catalog, CatalogError
from cart_app.clock import Clock, SystemClock
from cart_app.config import LoadedConfig
from cart_app.devices import DeviceMonitor, build_scale
from cart_app.engine import Engine, EngineSettings
from cart_app.evidence import EvidenceSettings, EvidenceStore
from cart_app.fusion import Fuser, FusionSettings
from cart_app.health import CartHealth, HealthPoller
from cart_app.ledger import Ledger, LedgerError
from cart_app.pricing import PricingPolicy
from cart_app.session import SessionState
from cart_app.store.catalog_sync import CatalogSyncError
from cart_app.store.http import StoreConfigError
from cart_app.store.link import StoreLink
from cart_app.store.outbox import OutboxError
from cart_app.store.setup import build_store_link
from cart_app.store.token import KeyFileError
from cart_app.store_layout import demo_store_dir
from cart_app.variable_measure import VariableMeasureScheme
from scale.service import ScaleService

log = logging.getLogger(__name__)


class Part(Protocol):
    """Anything the app starts and stops."""

    name: str

    def start(self) -> None:
        """Begin work (open devices, start threads)."""
        ...

    def stop(self) -> None:
        """End work and release resources; must be safe to call once after ``start``."""
        ...


@dataclass
class _Closer:
    """Adapts a resource that is opened on construction and only needs closing."""

    name: str
    close: Callable[[], None]

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.close()


@dataclass
class _Hook:
    """A part made of two calls (something to do once its collaborators run)."""

    name: str
    on_start: Callable[[], None]
    on_stop: Callable[[], None] = lambda: None

    def start(self) -> None:
        self.on_start()

    def stop(self) -> None:
        self.on_stop()


LEDGER_VERIFY_HINT = (
    "The ledger file was left as it is. `smartcart ledger-verify {path}` checks it and prints "
    "the last good basket it can salvage."
)


class StartupError(Exception):
    """The cart cannot start; the message says what to fix. Nothing on disk was changed."""


def scheme_from_config(loaded: LoadedConfig) -> VariableMeasureScheme:
    """The store's variable-measure barcode scheme from ``[[variable_measure.layouts]]``.

    The first layout is the base scheme and the others its per-prefix overrides; an empty list
    means the store uses no such codes.
    """
    schemes = [
        VariableMeasureScheme(
            prefixes=frozenset(layout.prefixes),
            item_digits=layout.item_digits,
            value_digits=layout.value_digits,
            value_kind=layout.value_kind,
            has_value_check_digit=layout.has_value_check_digit,
        )
        for layout in loaded.config.variable_measure.layouts
    ]
    if not schemes:
        return VariableMeasureScheme(prefixes=frozenset())
    base, *overrides = schemes
    return replace(base, overrides=tuple(overrides))


def catalog_json_path(loaded: LoadedConfig) -> Path:
    """The catalog JSON this configuration imports (the bundled demo store by default)."""
    configured = loaded.config.paths.catalog_json
    return loaded.resolve(configured) if configured else demo_store_dir() / "catalog.json"


def open_catalog(
    loaded: LoadedConfig, data_dir: Path, warnings: list[str] | None = None
) -> Catalog:
    """Open the catalog database, importing the configured JSON when it changed since last time.

    A failed import leaves the previous catalog in place (the import is one transaction), so a
    cart with a working catalog keeps selling from it and the problem goes to ``warnings`` for
    staff; a cart with no catalog at all cannot start (:class:`StartupError`).
    """
    catalog = Catalog.open(
        data_dir / "catalog.sqlite3", variable_measure=scheme_from_config(loaded)
    )
    source = catalog_json_path(loaded)
    marker = data_dir / "catalog.imported"
    if loaded.config.store.mode == "http" and catalog.products():
        # The store's catalog, synced by the store link, wins over the file: the file only
        # seeds a cart that has never reached its store.
        return catalog
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if not marker.exists() or marker.read_text().strip() != digest or not catalog.products():
            catalog.import_json(source)
            marker.write_text(digest)
    except (OSError, CatalogError) as exc:
        problem = f"catalog file {source}: {exc}"
        if catalog.products():
            log.error("%s; using the cached catalog", problem)
            if warnings is not None:
                warnings.append(f"{problem}; using the cached catalog")
            return catalog
        catalog.close()
        raise StartupError(problem) from exc
    return catalog


def _open_session(engine: Engine) -> str | None:
    """The restored trip, when it is still open (its images stay); None when idle or paid."""
    basket = engine.snapshot.basket
    if not basket.session_id or basket.state in (SessionState.IDLE, SessionState.DONE):
        return None
    return basket.session_id


def _build_health(
    clock: Clock,
    engine: Engine,
    store_link: StoreLink | None,
    parts: list[Part],
    cameras: CameraRig,
) -> CartHealth:
    """The cart's health, listening to the engine, the scale service and the store link, and
    polling the captures (the poller is a part, so a headless cart's health is live too)."""
    health = CartHealth(clock, cameras=cameras.captures)
    engine.subscribe(health.on_engine_event)
    for part in parts:
        if isinstance(part, ScaleService):
            part.subscribe(health.on_scale_event)
    if store_link is not None:
        store_link.subscribe(health.on_link_status)
    return health


@dataclass
class CartApp:
    """A built cart: its parts in start order."""

    loaded: LoadedConfig
    clock: Clock
    catalog: Catalog
    ledger: Ledger
    engine: Engine
    devices: DeviceMonitor
    store_link: StoreLink | None
    parts: list[Part] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Problems the cart started despite (e.g. a bad catalog update), for staff to see."""
    cameras: CameraRig = field(default_factory=CameraRig)
    """The basket cameras and the recogniser and barcode reader they share."""
    health: CartHealth | None = None
    """The cart's health (mode, banner, staff check due) folded from every device."""
    evidence: EvidenceStore | None = None
    """Evidence crops of this cart's trips (``[privacy]``), deleted as trips end."""
    _started: list[Part] = field(default_factory=list)

    @classmethod
    def build(
        cls, loaded: LoadedConfig, clock: Clock | None = None, *, record_to: Path | None = None
    ) -> CartApp:
        """Construct every part from ``loaded``; opens files but starts no thread.

        With ``record_to`` the run is recorded there as a session (``docs/session-format.md``).
        """
        clock = clock or SystemClock()
        cfg = loaded.config
        data_dir = loaded.resolve(cfg.paths.data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(f"data folder {data_dir}: {exc}") from exc
        warnings: list[str] = []
        try:
            catalog = open_catalog(loaded, data_dir, warnings)
        except CatalogError as exc:
            raise StartupError(str(exc)) from exc
        try:
            ledger = Ledger.open(data_dir / cfg.ledger.file_name, clock)
        except LedgerError as exc:
            catalog.close()
            hint = LEDGER_VERIFY_HINT.format(path=data_dir / cfg.ledger.file_name)
            raise StartupError(f"{exc}\n{hint}") from exc
        policy = PricingPolicy(
            tax_rates=catalog.tax_rates(),
            tax_included=catalog.store_info().tax_included,
            weight_increment_g=cfg.pricing.weight_increment_g,
        )
        fuser = Fuser(catalog, FusionSettings.from_config(cfg.fusion), clock)
        engine = Engine(
            ledger,
            catalog,
            policy,
            clock,
            EngineSettings(
                cart_id=cfg.cart_id,
                prompt_timeout_s=cfg.fusion.prompt_timeout_s,
                inbox_poll_s=cfg.engine.inbox_poll_s,
                stop_timeout_s=cfg.engine.stop_timeout_s,
                budget_cap_cents=cfg.pricing.budget_cap_cents,
                budget_warn_ratio_bp=cfg.pricing.budget_warn_ratio_bp,
            ),
            fuser=fuser,
        )
        # Order matters: storage before the engine that writes it; devices (scale, cameras) and
        # the UI bridge follow the engine so that they never publish into a stopped one.
        parts: list[Part] = [
            _Closer("catalog", catalog.close),
            _Closer("ledger", ledger.close),
            engine,
        ]
        store_link: StoreLink | None = None
        if cfg.store.mode == "http":
            try:
                store_link = build_store_link(
                    loaded, engine=engine, ledger=ledger, catalog=catalog, clock=clock
                )
            except (StoreConfigError, KeyFileError, OutboxError, CatalogSyncError) as exc:
                ledger.close()
                catalog.close()
                raise StartupError(f"store link: {exc}") from exc
            parts.append(store_link)
        privacy = cfg.privacy
        evidence = EvidenceStore(
            data_dir / "evidence",
            EvidenceSettings(
                keep_crops=privacy.keep_evidence_crops,
                retention_s=privacy.evidence_retention_days * 86_400.0,
            ),
            clock,
        )
        engine.subscribe(evidence.on_engine_event)
        # After the engine restored the basket: every trip but the open one is over, so its
        # images go (a crash must not keep them past their retention either).
        parts.append(_Hook("evidence", lambda: evidence.start(_open_session(engine))))
        monitor = DeviceMonitor()
        if cfg.scale.driver != "none":
            parts.extend(build_scale(loaded, data_dir, engine.submit, monitor, warnings))
        on_crop = evidence.on_item_crop if privacy.keep_evidence_crops else None
        cameras = build_cameras(
            loaded,
            data_dir,
            engine.submit,
            warnings,
            on_crop,
            known_code=lambda gtin: catalog.by_gtin(gtin) is not None,
        )
        parts.extend(cameras.parts)
        health = _build_health(clock, engine, store_link, parts, cameras)
        parts.append(HealthPoller(health))
        app = cls(
            loaded,
            clock,
            catalog,
            ledger,
            engine,
            monitor,
            store_link,
            parts,
            warnings,
            cameras,
            health,
            evidence,
        )
        if record_to is not None:
            from cart_app.sessions.recorder import attach_recorder

            attach_recorder(app, record_to)
        return app

    def start(self) -> None:
        """Start every part in order; on failure stop the started ones in reverse."""
        for part in self.parts:
            try:
                part.start()
            except Exception:
                log.exception("part %s failed to start", part.name)
                self.stop()
                raise
            self._started.append(part)

    def stop(self) -> None:
        """Stop the started parts in reverse order; one failing does not stop the others."""
        while self._started:
            part = self._started.pop()
            try:
                part.stop()
            except Exception:
                log.exception("part %s failed to stop", part.name)

    def __enter__(self) -> CartApp:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
