"""What the view-models need from the rest of the cart, as small protocols."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from cart_app.domain import Product
from cart_app.events import Command, Sensed

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ProductLookup(Protocol):
    """Products by SKU (:class:`cart_app.catalog.Catalog` is one)."""

    def by_sku(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        ...


class ProductSearch(ProductLookup, Protocol):
    """Lookup plus name/code search (:class:`cart_app.catalog.Catalog` is one)."""

    def search(self, text: str, limit: int = 50) -> list[Product]:
        """Products whose name contains ``text``, or whose SKU or GTIN it is."""
        ...


class CommandSink(Protocol):
    """Where the UI's commands go: the engine's inbox, never waited on from the Kivy thread."""

    def submit(self, command: Command | Sensed) -> None:
        """Queue ``command``; its outcome comes back as an engine event."""
        ...


class Thumbnails(Protocol):
    """Where product pictures are (the screens draw a lettered tile when there is none)."""

    def path(self, sku: str) -> str | None:
        """An image file of ``sku``, or None."""
        ...


class FolderThumbnails:
    """Pictures named ``<SKU>.png`` (or ``.jpg``) in any of ``folders``; looked up once each."""

    def __init__(self, folders: Iterable[Path]) -> None:
        """Search ``folders`` in order; missing folders are skipped."""
        self._folders = [f for f in folders if f.is_dir()]
        self._cache: dict[str, str | None] = {}

    def path(self, sku: str) -> str | None:
        """The first picture of ``sku`` found, or None."""
        if sku not in self._cache:
            found: str | None = None
            for folder in self._folders:
                for suffix in IMAGE_SUFFIXES:
                    candidate = folder / f"{sku}{suffix}"
                    if candidate.is_file():
                        found = str(candidate)
                        break
                if found:
                    break
            self._cache[sku] = found
        return self._cache[sku]


class NoThumbnails:
    """No pictures: every product gets its lettered tile."""

    def path(self, sku: str) -> str | None:
        """Always None."""
        return None


def initials(name: str) -> str:
    """Two letters for a product's tile without a picture: ``"Standardmjölk 3 %"`` → ``"ST"``."""
    words = [w for w in name.split() if w[:1].isalpha()]
    if len(words) >= 2 and len(words[0]) <= 3:
        return (words[0][0] + words[1][0]).upper()
    return (words[0][:2] if words else name[:2]).upper()
