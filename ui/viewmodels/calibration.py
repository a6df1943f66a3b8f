"""The scale calibration wizard for staff: empty basket, then the reference on each corner.

The steps and the solving are :class:`scale.calibration.CalibrationProcedure`'s; this view-model
walks staff through them. Each capture listens to the board for a few seconds, so it runs off
the Kivy thread (``capture`` is the app's blocking function); the result is saved and handed to
the running scale service by ``apply``. Only the cart board (raw counts per cell) calibrates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scale.calibration import Calibration, CalibrationError, CalibrationProcedure

DEFAULT_REFERENCE_G = 2000.0
REFERENCE_STEP_G = 500.0


@dataclass(frozen=True, slots=True)
class CalibrationView:
    """The wizard as shown."""

    available: bool
    reference: str
    step: str
    progress: str
    message: str
    busy: bool
    can_capture: bool
    can_save: bool


class CalibrationVM:
    """Steps, captures and the result of one calibration run."""

    def __init__(
        self,
        *,
        available: bool,
        capture: Callable[[], Sequence[float]] | None = None,
        apply: Callable[[Calibration], str] | None = None,
    ) -> None:
        """``capture`` blocks until one step's mean counts are in; ``apply`` saves and installs
        the result and returns where it was saved."""
        self._available = available and capture is not None and apply is not None
        self._capture = capture
        self._apply = apply
        self._reference_g = DEFAULT_REFERENCE_G
        self._procedure: CalibrationProcedure | None = None
        self._busy = False
        self._message = ""
        self._result: Calibration | None = None
        self.view = self._build()

    def change_reference(self, delta_g: float) -> CalibrationView:
        """The reference weight (before starting): +/- buttons."""
        if self._procedure is None:
            self._reference_g = max(REFERENCE_STEP_G, self._reference_g + delta_g)
        self.view = self._build()
        return self.view

    def start(self) -> CalibrationView:
        """Begin (or restart) the procedure."""
        self._procedure = CalibrationProcedure(self._reference_g)
        self._result = None
        self._message = ""
        self.view = self._build()
        return self.view

    def capture_job(self) -> Callable[[], Sequence[float]] | None:
        """The blocking capture to run for the current step (None when nothing to capture)."""
        if self._procedure is None or self._procedure.current is None or self._busy:
            return None
        self._busy = True
        self._message = ""
        self.view = self._build()
        return self._capture

    def captured(self, counts: Sequence[float] | None, error: BaseException | None) -> None:
        """A capture ended (on the Kivy thread)."""
        self._busy = False
        procedure = self._procedure
        if procedure is None:
            return
        if error is not None or counts is None:
            self._message = f"✕ {error}"
        else:
            try:
                procedure.record(counts)
                if procedure.current is None:
                    self._result = procedure.result()
                    self._message = "✓ calibration solved: save it to use it"
            except CalibrationError as exc:
                self._message = f"✕ {exc}"
                self._procedure = None
        self.view = self._build()

    def save(self) -> CalibrationView:
        """Save the solved calibration and give it to the scale."""
        if self._result is None or self._apply is None:
            return self.view
        try:
            where = self._apply(self._result)
        except (OSError, CalibrationError) as exc:
            self._message = f"✕ not saved: {exc}"
        else:
            self._message = f"✓ saved to {where} and in use"
            self._procedure = None
            self._result = None
        self.view = self._build()
        return self.view

    def _build(self) -> CalibrationView:
        if not self._available:
            return CalibrationView(
                False,
                "",
                "",
                "",
                "No cart-board scale on this cart: nothing to calibrate.",
                False,
                False,
                False,
            )
        procedure = self._procedure
        step = ""
        progress = ""
        if procedure is not None:
            current = procedure.current
            total = len(procedure.steps)
            if current is None:
                step, progress = "All steps captured.", f"{total} of {total} done"
            else:
                index = procedure.steps.index(current)
                step, progress = current.instruction, f"step {index + 1} of {total}"
        return CalibrationView(
            available=True,
            reference=f"reference weight {self._reference_g:g} g",
            step=step,
            progress=progress,
            message=self._message,
            busy=self._busy,
            can_capture=procedure is not None and procedure.current is not None and not self._busy,
            can_save=self._result is not None,
        )
