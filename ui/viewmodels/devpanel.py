"""The laptop's developer panel: drive the simulated scale from the screen or the keyboard.

With the ``laptop`` profile the cart runs the scale simulator; this panel (F12, or the "Dev"
button that only the laptop shows) puts an item of N grams in, takes it out, leans on the
handle and pushes the cart, so that a developer holding a product to the webcam sees
recognition, barcode reading and fusion work live. N comes from the panel's keypad, a preset,
or a catalog product's nominal weight.

The simulator is reached through :class:`ScaleSim` (``cart_app.devices.SimulatorPart``): each
action only queues a command and returns a future, so the Kivy thread never waits. The
controller posts the future's outcome back through the bridge, where :meth:`DevPanelVM.done`
shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final, Protocol

from cart_app.devices import SimReading
from cart_app.domain import Product
from ui.i18n import Translator
from ui.viewmodels import formatting as fmt
from ui.viewmodels.keypad import KeypadVM

PRESETS_G: Final = (100, 250, 500, 1000)
DEFAULT_GRAMS: Final = 250
MAX_GRAMS: Final = 99_999

SHORTCUTS: Final = {
    "f12": "toggle",
    "f5": "put",
    "f6": "take",
    "f7": "lean",
    "f8": "push",
    "f9": "product",
}
"""Keyboard shortcuts (function keys: a barcode scanner types letters and digits, never these)."""


class ScaleSim(Protocol):
    """The simulated scale (``cart_app.devices.SimulatorPart`` is one)."""

    def put(self, grams: float) -> Future[str]:
        """Put an item of ``grams`` in."""
        ...

    def take(self, grams: float) -> Future[str]:
        """Take the latest item of ``grams`` out."""
        ...

    def lean(self, grams: float = ..., seconds: float = ...) -> Future[str]:
        """Lean on the handle."""
        ...

    def push(self, seconds: float = ...) -> Future[str]:
        """Push the cart."""
        ...

    def reading(self) -> SimReading | None:
        """What the basket holds now."""
        ...


@dataclass(frozen=True, slots=True)
class DevResult:
    """What became of a panel action (posted to the bridge from the simulator's thread)."""

    action: str
    grams: float
    error: str = ""
    """Empty when the simulator did it; else its reason (``no item of 250 g in the basket``)."""


@dataclass(frozen=True, slots=True)
class DevPanelView:
    """The panel as shown."""

    available: bool
    visible: bool
    warnings: tuple[str, ...]
    grams: str
    product: str
    reading: str
    last: str
    shortcuts: str


class DevPanelVM:
    """Grams to use, the product picked, and the simulator's last answer."""

    def __init__(
        self,
        sim: ScaleSim | None,
        products: Sequence[Product],
        tr: Translator,
        *,
        warnings: Sequence[str] = (),
    ) -> None:
        """``sim`` None: not the laptop profile or no simulated scale (the panel stays off)."""
        self._sim = sim
        # Only products that come one at a time have a nominal weight worth putting in.
        self._products = [p for p in products if p.nominal_weight_g > 0]
        self._tr = tr
        self._warnings = tuple(warnings)
        self._keypad = KeypadVM(decimals=0, max_digits=5)
        self._keypad.set_value(DEFAULT_GRAMS)
        self._fresh = True  # the next digit replaces the shown amount rather than extend it
        self._product = -1
        self._visible = False
        self._last = ""
        self._reading: SimReading | None = None
        self.view = self._build()

    @property
    def available(self) -> bool:
        """Whether there is a simulator to drive."""
        return self._sim is not None

    @property
    def visible(self) -> bool:
        """Whether the panel is open."""
        return self._visible

    @property
    def grams(self) -> int:
        """The weight the put and take buttons use."""
        return self._keypad.value or 0

    def toggle(self) -> DevPanelView:
        """F12 or the "Dev" button."""
        self._visible = self.available and not self._visible
        return self._rebuild()

    def key(self, key: str) -> DevPanelView:
        """A key of the panel's keypad (digits, ``back``, ``clear``)."""
        if self._fresh and key.isdigit():
            self._keypad.set_value(None)
        self._fresh = False
        self._keypad.press(key)
        if self.grams > MAX_GRAMS:
            self._keypad.set_value(MAX_GRAMS)
        return self._rebuild()

    def preset(self, grams: int) -> DevPanelView:
        """A preset weight button."""
        self._keypad.set_value(grams)
        self._fresh = True
        return self._rebuild()

    def next_product(self, step: int = 1) -> DevPanelView:
        """Pick the next (or previous) catalog product and use its nominal weight."""
        if self._products:
            self._product = (self._product + step) % len(self._products)
            grams = round(self._products[self._product].nominal_weight_g)
            self._keypad.set_value(min(max(grams, 1), MAX_GRAMS))
            self._fresh = True
        return self._rebuild()

    # -- actions: each returns the simulator's future (None when there is nothing to do) --------
    def act(self, action: str) -> Future[str] | None:
        """``put``, ``take``, ``lean`` or ``push``."""
        sim = self._sim
        if sim is None:
            return None
        grams = float(self.grams)
        if action in ("put", "take") and grams <= 0:
            self._last = "✕ " + self._tr("dev.need_grams")
            self._rebuild()
            return None
        future: Future[str]
        if action == "put":
            future = sim.put(grams)
        elif action == "take":
            future = sim.take(grams)
        elif action == "lean":
            future = sim.lean()
        elif action == "push":
            future = sim.push()
        else:
            return None
        self._last = "… " + self._tr(f"dev.{action}")
        self._rebuild()
        return future

    def done(self, result: DevResult) -> DevPanelView:
        """The simulator's answer (on the Kivy thread)."""
        if result.error:
            self._last = "✕ " + self._tr("dev.failed", reason=result.error)
        else:
            grams = fmt.group(result.grams)
            self._last = "✓ " + self._tr(f"dev.done_{result.action}", grams=grams)
        return self._rebuild()

    def poll(self) -> DevPanelView:
        """Read the simulated basket (a snapshot the simulator keeps: no waiting)."""
        if self._sim is not None:
            self._reading = self._sim.reading()
        return self._rebuild()

    def refresh(self) -> DevPanelView:
        """Rebuild the texts (after a language switch)."""
        return self._rebuild()

    def _rebuild(self) -> DevPanelView:
        self.view = self._build()
        return self.view

    def _build(self) -> DevPanelView:
        tr = self._tr
        product = ""
        if 0 <= self._product < len(self._products):
            picked = self._products[self._product]
            product = tr("dev.product", name=picked.name, grams=fmt.group(picked.nominal_weight_g))
        reading = ""
        if self._reading is not None:
            key = "dev.reading_settled" if self._reading.settled else "dev.reading_moving"
            reading = tr(
                key,
                total=fmt.group(self._reading.total_g),
                items=fmt.group(self._reading.items_g),
            )
        return DevPanelView(
            available=self.available,
            visible=self._visible,
            warnings=self._warnings,
            grams=f"{fmt.group(self.grams)} g",
            product=product or tr("dev.no_product"),
            reading=reading,
            last=self._last,
            shortcuts=tr("dev.shortcuts"),
        )
