"""Building the store link from the cart's configuration (called by the composition root).

``[store]`` settings that the schema does not define yet are read with their documented
defaults (:data:`OPTIONAL_DEFAULTS`), so adding them to ``cart_app.config.schema.StoreConfig``
under these names makes them configurable without touching this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cart_app.catalog import Catalog
from cart_app.clock import Clock
from cart_app.config import LoadedConfig
from cart_app.config.schema import StoreConfig
from cart_app.store.catalog_sync import CatalogCache, CatalogSync
from cart_app.store.client import StoreClient
from cart_app.store.http import TransportSettings
from cart_app.store.link import EngineLike, LinkSettings, SessionRecords, StoreLink
from cart_app.store.outbox import Outbox
from cart_app.store.token import CartKey


@dataclass(frozen=True, slots=True)
class StorePaths:
    """The link's files in the data folder."""

    outbox: Path
    catalog_cache: Path
    cart_key: Path
    layout: Path


def store_paths(cfg: StoreConfig, data_dir: Path) -> StorePaths:
    """Where the link keeps its files."""
    return StorePaths(
        outbox=data_dir / cfg.outbox_file,
        catalog_cache=data_dir / cfg.catalog_cache_file,
        cart_key=data_dir / cfg.cart_key_file,
        layout=data_dir / cfg.layout_file,
    )


def transport_settings(cfg: StoreConfig, base_dir: Path) -> TransportSettings:
    """The HTTP transport's settings from ``[store]``."""
    cert = cfg.client_cert_file
    key = cfg.client_key_file
    ca = cfg.ca_bundle
    return TransportSettings(
        base_url=cfg.base_url,
        api_key=cfg.api_key,
        connect_timeout_s=cfg.connect_timeout_s,
        read_timeout_s=cfg.read_timeout_s,
        total_timeout_s=cfg.total_timeout_s,
        retry_total=cfg.retry_total,
        retry_backoff_initial_s=cfg.retry_backoff_initial_s,
        retry_backoff_max_s=cfg.retry_backoff_max_s,
        ca_bundle=str(base_dir / ca) if ca else "",
        client_cert=(str(base_dir / cert), str(base_dir / key)) if cert else None,
        allow_plain_http=cfg.allow_plain_http,
    )


def build_store_link(
    loaded: LoadedConfig,
    *,
    engine: EngineLike,
    ledger: SessionRecords,
    catalog: Catalog,
    clock: Clock,
) -> StoreLink:
    """The store link of a cart in ``http`` mode (not started; the app starts it after the engine).

    Opens the outbox and the catalog cache and loads (or creates, mode 0600) the cart's key.
    Raises StoreConfigError for an unusable base URL, OutboxError/CatalogSyncError for bad
    files and KeyFileError for a key file others can read.
    """
    cfg = loaded.config.store
    data_dir = loaded.resolve(loaded.config.paths.data_dir)
    paths = store_paths(cfg, data_dir)
    client = StoreClient.from_settings(
        transport_settings(cfg, loaded.base_dir),
        max_catalog_bytes=cfg.max_catalog_bytes,
    )
    key = CartKey.load_or_create(paths.cart_key)
    outbox = Outbox.open(paths.outbox, clock)
    cache = CatalogCache.open(paths.catalog_cache)
    sync = CatalogSync(client, cache, catalog, layout_path=paths.layout)
    settings = LinkSettings(
        cart_id=loaded.config.cart_id,
        token_ttl_s=cfg.token_ttl_s,
        catalog_sync_interval_s=cfg.catalog_sync_interval_s,
        heartbeat_interval_s=cfg.heartbeat_interval_s,
        payment_wait_s=cfg.payment_wait_s,
        backoff_initial_s=cfg.retry_backoff_initial_s,
        backoff_max_s=cfg.retry_backoff_max_s,
    )
    return StoreLink(
        client=client,
        outbox=outbox,
        engine=engine,
        ledger=ledger,
        store_info=catalog,
        key=key,
        settings=settings,
        clock=clock,
        catalog_sync=sync,
        on_stop=(outbox.close, cache.close),
    )
