"""The scale calibration wizard for staff: empty basket, then the reference on each corner.

The steps and the solving are :class:`scale.calibration.CalibrationProcedure`'s; this view-model
walks staff through them. Each capture listens to the board for a few seconds, so it runs off
the Kivy thread (``capture`` is the app's blocking function); the result is saved and handed to
the running scale service by ``apply``. Only the cart board (raw counts per cell) calibrates.
Every instruction is translated (``cal.*``); a failed capture shows the scale's own message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scale.calibration import (
    CORNERS,
    Calibration,
    CalibrationError,
    CalibrationProcedure,
    CalibrationStep,
)
from ui.i18n import Translator

CORNER_KEYS = {corner: "cal.corner_" + corner.replace("-", "_") for corner in CORNERS}
"""The translation key of each corner of the cart board."""
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
        tr: Translator | None = None,
    ) -> None:
        """``capture`` blocks until one step's mean counts are in; ``apply`` saves and installs
        the result and returns where it was saved."""
        self._tr = tr or Translator("en")
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
                    self._message = "✓ " + self._tr("cal.solved")
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
            self._message = "✕ " + self._tr("cal.not_saved", reason=exc)
        else:
            self._message = "✓ " + self._tr("cal.saved", path=where)
            self._procedure = None
            self._result = None
        self.view = self._build()
        return self.view

    def refresh(self) -> CalibrationView:
        """Rebuild the view (after a language switch)."""
        self.view = self._build()
        return self.view

    def _instruction(self, step: CalibrationStep, reference_g: float) -> str:
        if step.key == "empty":
            return self._tr("cal.step_empty")
        if step.key in CORNERS:
            corner = self._tr(CORNER_KEYS[step.key])
            return self._tr("cal.step_corner", grams=f"{reference_g:g}", corner=corner)
        return step.instruction  # a board with other corners: the procedure's own words

    def _build(self) -> CalibrationView:
        tr = self._tr
        if not self._available:
            return CalibrationView(False, "", "", "", tr("cal.unavailable"), False, False, False)
        procedure = self._procedure
        step = ""
        progress = ""
        if procedure is not None:
            current = procedure.current
            total = len(procedure.steps)
            if current is None:
                step, progress = tr("cal.all_captured"), tr("cal.done", done=total, total=total)
            else:
                index = procedure.steps.index(current)
                step = self._instruction(current, procedure.reference_g)
                progress = tr("cal.progress", step=index + 1, total=total)
        return CalibrationView(
            available=True,
            reference=tr("cal.reference", grams=f"{self._reference_g:g}"),
            step=step,
            progress=progress,
            message=self._message,
            busy=self._busy,
            can_capture=procedure is not None and procedure.current is not None and not self._busy,
            can_save=self._result is not None,
        )
