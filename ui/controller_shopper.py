"""The shopper's actions for :class:`ui.controller.CartUi`: start, prompts, guidance, search and
map, checkout, handoff and scanned non-product codes. A mixin (kept apart so that no module grows
too long); plain Python, no Kivy, Kivy thread only. Commands go to the engine with ``submit``
(never waited on); the handoff goes to the job thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cart_app.fusion import choices as ch
from cart_app.session import SessionState
from cart_app.store.link import HandoffTicket
from ui.parts import Part
from ui.viewmodels.session import CodeKind, Screen, classify_code

if TYPE_CHECKING:
    from cart_app.engine import CartSnapshot
    from cart_app.events import Command, Sensed
    from ui.deps import UiDeps
    from ui.i18n import Translator
    from ui.jobs import Jobs
    from ui.viewmodels.checkout import CheckoutVM
    from ui.viewmodels.map import MapVM, SearchResultView
    from ui.viewmodels.prompt import PromptVM
    from ui.viewmodels.session import SessionVM


class ShopperMixin:
    """The shopper's taps, as engine commands and view changes."""

    if TYPE_CHECKING:
        deps: UiDeps
        tr: Translator
        jobs: Jobs
        session: SessionVM
        prompt: PromptVM
        map: MapVM
        checkout: CheckoutVM
        guidance: str
        message: str
        search_text: str
        search_results: tuple[SearchResultView, ...]
        _tab: Screen
        _snapshot: CartSnapshot | None
        _guidance_for_next: bool

        def _route(self) -> bool: ...
        def _submit(self, command: Command | Sensed | None) -> None: ...
        def _changed(self, *parts: Part) -> None: ...
        def check_badge(self, badge_id: str) -> None: ...
        def check_signed_badge(self, text: str) -> None: ...
        def open_picker(self) -> None: ...

    def start(self) -> None:
        """ "Start shopping"."""
        self._submit(self.session.start())

    def start_with_bags(self) -> None:
        """ "I brought my own bags": start, and label "this is mine" as "these are my bags"."""
        self.prompt.bags_mode = True
        self.guidance = self.tr("guidance.bags")
        self._guidance_for_next = True
        self._submit(self.session.start_with_bags())
        self._changed(Part.BASKET)

    def go(self, tab: Screen) -> None:
        """Switch between basket, list & map and search while shopping."""
        self._tab = tab
        if self._route():
            self._changed(Part.SCREEN)

    def answer(self, answer: str) -> None:
        """A prompt button was tapped ("Something else…" opens the product picker)."""
        command = self.prompt.choose(answer)
        if answer == ch.OTHER:
            self.open_picker()
        if answer == "" and self.deps.call_staff is not None:
            view = self.prompt.view
            self.deps.call_staff(view.reason if view else "help")
        self._submit(command)
        self._changed(Part.PROMPT)

    def prompt_back(self) -> None:
        """Back from a scan/show/staff instruction to the prompt's buttons."""
        self.prompt.back_to_choices()
        self._changed(Part.PROMPT)

    def explain_remove(self, line_id: int) -> None:
        """ "Remove" on a line: removal happens by taking the item out (the scale sees it)."""
        line = self._snapshot.basket.line(line_id) if self._snapshot else None
        if line is not None:
            name = self._name(line.sku)
            self.guidance = self.tr("guidance.remove", name=name)
            self._changed(Part.BASKET)

    def dismiss_guidance(self) -> None:
        """Close the guidance banner."""
        self.guidance = ""
        self._changed(Part.BASKET)

    def dismiss_message(self) -> None:
        """Close the message banner."""
        self.message = ""
        self._changed(Part.MESSAGE)

    def _name(self, sku: str) -> str:
        product = self.deps.catalog.by_sku(sku)
        return product.name if product else sku

    def search(self, text: str) -> None:
        """Search products by name or code."""
        self.search_text = text
        self.search_results = self.map.search(text)
        self._changed(Part.SEARCH)

    def show_on_map(self, sku: str) -> None:
        """A search result was tapped: show where it is."""
        self.map.show_product(sku)
        self.go(Screen.MAP)
        self._changed(Part.MAP)

    def add_to_list(self, sku: str) -> None:
        """Put a search result on the shopping list."""
        self.map.add_to_list(sku)
        self.search_results = self.map.search(self.search_text)
        self._changed(Part.MAP, Part.SEARCH)

    def checkout_request(self) -> None:
        """ "Go to checkout"."""
        self._submit(self.checkout.request_checkout())

    def back_to_shopping(self) -> None:
        """Back from checkout or the handoff screen."""
        self._submit(self.checkout.back_to_shopping())

    def pay(self) -> None:
        """ "Pay at the exit": hand the basket off (off the Kivy thread).

        Refused while a staff check is due (the scale was away during the trip): the basket
        must not reach the lane silently, so staff are called instead."""
        if self.checkout.staff_check_due:
            if self.deps.call_staff is not None:
                self.deps.call_staff("staff check: the scale was unavailable during the trip")
            self.message = self.tr("checkout.staff_check")
            self._changed(Part.MESSAGE, Part.CHECKOUT)
            return
        if self.jobs.run("handoff", self.deps.handoff.hand_off, self._handed_off):
            self.checkout.sending()
            self._changed(Part.CHECKOUT)

    def _handed_off(self, ticket: HandoffTicket | None, error: BaseException | None) -> None:
        if error is not None or ticket is None:
            self.checkout.handoff_failed(str(error))
        else:
            self.checkout.handed_off(ticket)

    def renew_code(self) -> None:
        """The code expired: go back to checkout and hand off again."""
        self._submit(self.checkout.back_to_shopping())
        self._submit(self.checkout.request_checkout())

    def finish(self) -> None:
        """ "Done" on the paid screen."""
        self._submit(self.checkout.finish())

    def scanned(self, text: str) -> set[Part]:
        """A non-product code was scanned (loyalty card, store app, staff badge)."""
        code = classify_code(text)
        state = self._snapshot.basket.state if self._snapshot else SessionState.IDLE
        if code.kind is CodeKind.STAFF:
            self.check_badge(code.ident)
            return {Part.STAFF}
        if code.kind is CodeKind.SIGNED_BADGE:
            self.check_signed_badge(code.ident)
            return {Part.STAFF}
        if code.kind is CodeKind.APP and code.shopping_list:
            self.map.set_list(list(code.shopping_list))
        if state is SessionState.IDLE:
            self._submit(self.session.scanned(code))
        return {Part.WELCOME, Part.MAP}
