"""The simulated cart load-cell board: raw counts per cell at 80 samples/s, plus ``@``/``I4``.

Unlike the indicators in :mod:`scale.sim.indicator_devices` the board has no zero or tare: it
sends every sample unasked and the host does the weighing.
"""

from __future__ import annotations

from scale.protocols import cartboard
from scale.sim.device_base import DeviceOptions, Display, LineInput, SimDevice
from scale.sim.physics import BasketModel, BasketState


class CartBoardDevice(SimDevice):
    """The cart's load-cell board: 80 samples/s of raw counts per cell, plus ``@``/``I4``."""

    protocol = cartboard.PROTOCOL
    sample_hz = float(cartboard.SAMPLE_RATE_HZ)

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        super().__init__(model, options)
        if len(self.options.calibration.cells) != cartboard.CELLS:
            raise ValueError(f"the cart board has {cartboard.CELLS} cells")
        self._input = LineInput()
        self.seq = 0

    def boot(self, t: float) -> bytes:
        """Power-up: the sequence restarts at 0 and the board announces itself once."""
        super().boot(t)
        self.seq = 0
        return cartboard.encode_identify_answer(self.options.serial_number)

    def zero(self) -> str:
        """The board has no zero: the host zeroes (calibration and zero tracking)."""
        return "the cart board has no zero key; the host tracks zero"

    def counts(self, state: BasketState) -> tuple[int, ...]:
        """Raw ADC counts of each cell for a sample (clipped like the HX711)."""
        out: list[int] = []
        limit = self.options.cell_capacity_g
        for cell, grams in zip(self.options.calibration.cells, state.cells_g, strict=True):
            if grams > limit:
                # An overloaded cell drives the ADC to its rail.
                value = cartboard.COUNT_MAX if cell.counts_per_gram > 0 else cartboard.COUNT_MIN
            else:
                value = round(cell.zero_counts + grams * cell.counts_per_gram)
            out.append(min(max(value, cartboard.COUNT_MIN), cartboard.COUNT_MAX))
        return tuple(out)

    def _on_sample(self, state: BasketState, display: Display) -> bytes:
        line = cartboard.encode_sample(self.seq, self.counts(state))
        self.seq = (self.seq + 1) % cartboard.SEQ_MODULUS
        return line

    def _skipped(self, samples: int) -> None:
        # Samples the host missed still used sequence numbers, so the reader sees the gap.
        self.seq = (self.seq + samples) % cartboard.SEQ_MODULUS

    def _command(self, line: str) -> bytes:
        if line.strip() in ("@", "I4"):
            return cartboard.encode_identify_answer(self.options.serial_number)
        return b"ES\r\n"
