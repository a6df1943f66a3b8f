"""The "Something else" picker's actions for :class:`ui.controller.CartUi`: the shopper's (from
the prompt overlay) and staff's (from maintenance). A mixin (kept apart so that no module grows
too long); plain Python, no Kivy, Kivy thread only.

The picker's answer goes the way every prompt answer goes: the shopper's through
:meth:`ui.viewmodels.prompt.PromptVM.answer_named` (``Answer(prompt, choice, "shopper")``),
staff's through :meth:`ui.viewmodels.maintenance.MaintenanceVM.resolve_prompt` (``"staff"``, with
the staff member's id), both to the engine, which hands them to fusion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cart_app.fusion import choices as ch
from ui.parts import Part
from ui.viewmodels.picker import STAFF, ProductPickerVM
from ui.viewmodels.session import Screen

if TYPE_CHECKING:
    from cart_app.engine import CartSnapshot
    from cart_app.events import Command, Sensed
    from ui.deps import UiDeps
    from ui.viewmodels.maintenance import MaintenanceVM
    from ui.viewmodels.prompt import PromptVM
    from ui.viewmodels.staff_login import StaffAuth


class PickerMixin:
    """ "Something else…": find the product, set how many, confirm."""

    if TYPE_CHECKING:
        deps: UiDeps
        prompt: PromptVM
        picker: ProductPickerVM
        staff: StaffAuth
        maintenance: MaintenanceVM
        screen: Screen
        _snapshot: CartSnapshot | None

        def _submit(self, command: Command | Sensed | None) -> None: ...
        def _changed(self, *parts: Part) -> None: ...
        def staff_do(self, commands: list[Command]) -> None: ...
        def answer(self, answer: str) -> None: ...

    @property
    def picker_visible(self) -> bool:
        """Whether the picker is on screen: the shopper's over their screens while the prompt
        it answers is shown; staff's over maintenance."""
        picker = self.picker
        if not picker.is_open:
            return False
        if picker.staff:
            return self.screen is Screen.MAINTENANCE and self.staff.unlocked
        return (
            self.prompt.view is not None
            and self.prompt.view.prompt_id == picker.prompt_id
            and self.screen not in (Screen.MAINTENANCE, Screen.STAFF_LOGIN)
        )

    def open_picker(self) -> None:
        """The shopper tapped "Something else…" on the prompt shown."""
        pending = self.prompt.pending
        if pending is not None and self.picker.open(pending):
            self._changed(Part.PICKER, Part.PROMPT)

    def staff_pick_other(self, prompt_id: str) -> None:
        """Staff chose "Something else" for a flagged prompt in maintenance."""
        snap = self._snapshot
        if snap is None or not self.staff.unlocked:
            return
        self.staff.touch()
        pending = next((p for p in snap.basket.pending_prompts if p.prompt_id == prompt_id), None)
        if pending is not None and self.picker.open(pending, STAFF, self.staff.staff_id):
            self._changed(Part.PICKER, Part.STAFF)

    def _picker_touch(self) -> None:
        if self.picker.staff:
            self.staff.touch()  # the picker is maintenance's: its taps keep it unlocked

    def picker_search(self, text: str) -> None:
        """The picker's search box (on-screen keyboard)."""
        self._picker_touch()
        self.picker.search(text)
        self._changed(Part.PICKER)

    def picker_pick(self, sku: str) -> None:
        """A search result's "Pick" / "Add"."""
        self._picker_touch()
        self.picker.pick(sku)
        self._changed(Part.PICKER)

    def picker_step(self, index: int, delta: int) -> None:
        """A picked product's − / + stepper."""
        self._picker_touch()
        self.picker.step(index, delta)
        self._changed(Part.PICKER)

    def picker_remove(self, index: int) -> None:
        """A picked product's "Remove"."""
        self._picker_touch()
        self.picker.remove(index)
        self._changed(Part.PICKER)

    def picker_cancel(self) -> None:
        """ "Cancel": back to the prompt (or to maintenance); nothing is sent."""
        self._picker_touch()
        self.picker.close()
        self._changed(Part.PICKER, Part.PROMPT, Part.STAFF)

    def picker_confirm(self) -> None:
        """ "Confirm": send the named products as the prompt's answer."""
        staff = self.picker.staff
        pick = self.picker.confirm()
        if pick is None:
            return
        if staff:
            self.staff_do(
                [self.maintenance.resolve_prompt(pick.prompt_id, pick.answer, pick.staff_id)]
            )
        else:
            self._submit(self.prompt.answer_named(pick.prompt_id, pick.answer))
        self._changed(Part.PICKER, Part.PROMPT, Part.STAFF)

    def picker_scan(self) -> None:
        """ "Scan it" from the picker: back to the prompt, waiting for the scan."""
        self.picker.close()
        self.answer(ch.SCAN)
        self._changed(Part.PICKER)

    def picker_call_staff(self) -> None:
        """ "Call staff" from the picker: back to the prompt, staff called."""
        self.picker.close()
        self.answer("")
        self._changed(Part.PICKER)

    def _picker_sync(self) -> bool:
        """After a snapshot or a staff change: the picker follows its prompt (or closes); a
        staff pick closes when maintenance locks. True when it changed."""
        picker = self.picker
        if not picker.is_open:
            return False
        if picker.staff and not self.staff.unlocked:
            picker.close()
            return True
        snap = self._snapshot
        return snap is not None and picker.follow(snap.basket)
