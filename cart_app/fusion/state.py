"""What fusion remembers between calls, and the holder the fuser shares with its helpers.

The state is a frozen :class:`FusionState`, replaced (never mutated) by each call. The
:class:`~cart_app.fusion.fuser.Fuser` delegates to a few collaborators (prompts, answers,
charging, the decision loop, unclaimed observations); they all read and replace the one state
in a :class:`FuserCore`, so whichever of them acts, the next sees what it did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from cart_app.basket import BasketState
from cart_app.clock import Clock
from cart_app.events import ChangeKind
from cart_app.fusion.book import FusionCatalog, ProductBook
from cart_app.fusion.provisional import Provisional
from cart_app.fusion.settings import FusionSettings
from scale.types import WeightChange
from vision.types import ItemObservation

WITHDRAWN = "withdrawn"
"""Answer recorded (by ``"system"``) when an unresolved item is taken back out."""


@dataclass(frozen=True, slots=True)
class PromptContext:
    """What a prompt is about: the weight change (None for a too-light item) and the views."""

    kind: ChangeKind | None
    delta_g: float
    observations: tuple[ItemObservation, ...] = ()
    change: WeightChange | None = None


@dataclass(frozen=True, slots=True)
class OpenPrompt:
    """A prompt fusion opened and has not seen answered.

    ``seen_open`` turns true once the basket lists it; if it later disappears without an
    answer through the fuser, the engine timed it out. ``deadline`` is monotonic.
    """

    prompt_id: str
    reason: str
    choices: tuple[str, ...]
    context: PromptContext
    deadline: float
    seen_open: bool = False


@dataclass(frozen=True, slots=True)
class RecentLight:
    """A too-light item confirmed without weight; other cameras' views of it are duplicates."""

    sku: str
    t: float
    camera_id: str


@dataclass(frozen=True, slots=True)
class FusionState:
    """Everything fusion remembers between calls."""

    observations: tuple[ItemObservation, ...] = ()
    weights: tuple[WeightChange, ...] = ()
    prompts: tuple[OpenPrompt, ...] = ()
    own_items_g: tuple[float, ...] = ()
    recent_light: tuple[RecentLight, ...] = ()
    provisional: tuple[Provisional, ...] = ()
    awaiting_scan: tuple[str, ...] = ()
    """Prompts whose shopper tapped "scan it": the next scan answers them."""
    awaiting_show: tuple[str, ...] = ()
    """Prompts whose shopper tapped "show it": an item held up to a camera answers them."""
    deferred_scans: tuple[ItemObservation, ...] = ()
    """Scans made while prompts were open that nobody asked for: the next item's, if it goes
    in; otherwise, ``pairing_window_s`` later, an answer to the prompt they fit."""


class FuserCore:
    """The fuser's dependencies and its two changing parts, shared by its collaborators.

    ``state`` is replaced by whichever collaborator acts; ``basket`` is the engine's basket as
    last given to the fuser (None before the first call that gives one).
    """

    def __init__(
        self,
        catalog: FusionCatalog,
        settings: FusionSettings,
        clock: Clock,
        new_id: Callable[[], str],
    ) -> None:
        """A core with no pending evidence and no basket yet."""
        self.catalog = catalog
        self.settings = settings
        self.clock = clock
        self.new_id = new_id
        self.state = FusionState()
        self.basket: BasketState | None = None

    def book(self) -> ProductBook:
        """A fresh memo of catalog look-ups for one decision."""
        return ProductBook(self.catalog, self.settings)

    def drop_prompt(self, prompt_id: str) -> None:
        """Forget the prompt ``prompt_id`` and any "scan it"/"show it" waiting on it."""
        self.state = replace(
            self.state,
            prompts=tuple(p for p in self.state.prompts if p.prompt_id != prompt_id),
            awaiting_scan=tuple(a for a in self.state.awaiting_scan if a != prompt_id),
            awaiting_show=tuple(a for a in self.state.awaiting_show if a != prompt_id),
        )
