"""Simulated commercial scales: MT-SICS, Toledo 8217, NCI and A&D continuous, one class each.

Each answers the host's commands in its protocol's bytes about the zero, tare and stability kept
by :class:`~scale.sim.device_base.SimDevice`, so the production parsers in ``scale.protocols``
read them exactly as they read a real scale.
"""

from __future__ import annotations

from scale.protocols import continuous, mt_sics, nci, toledo_8217
from scale.sim.device_base import DeviceOptions, Display, LineInput, SimDevice
from scale.sim.physics import BasketModel


class MtSicsDevice(SimDevice):
    """A Mettler Toledo MT-SICS level 0/1 scale: ``SI S SIR Z ZI T TAC I4 @``."""

    protocol = mt_sics.PROTOCOL
    default_unit = "g"
    default_decimals = 1

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        super().__init__(model, options)
        self._input = LineInput()

    def _weight(self, display: Display) -> bytes:
        if display.overload:
            return b"S +\r\n"
        if display.underload:
            return b"S -\r\n"
        value = self._value(display.net_g)
        if len(value) > 10:
            return b"S +\r\n"
        code = "S" if display.settled else "D"
        return f"S {code} {value:>10} {self.unit}\r\n".encode("ascii")

    def _stream_line(self, display: Display) -> bytes:
        return self._weight(display)

    def _identify(self) -> bytes:
        return f'I4 A "{self.options.serial_number}"\r\n'.encode("ascii")

    def _zero_answer(self, command: str, display: Display) -> bytes:
        if display.overload:
            return f"{command} +\r\n".encode("ascii")
        result = self._set_zero()
        if result != "ok":
            return f"{command} {result}\r\n".encode("ascii")
        if command == "ZI":
            return f"ZI {'S' if display.settled else 'D'}\r\n".encode("ascii")
        return b"Z A\r\n"

    def _tare_answer(self, display: Display) -> bytes:
        if display.overload:
            return b"T +\r\n"
        if display.gross_g < 0:
            return b"T -\r\n"
        self.tare_g = display.gross_g
        return f"T S {self._value(self.tare_g):>10} {self.unit}\r\n".encode("ascii")

    def _command(self, line: str) -> bytes:
        command = line.strip(" ")
        if command == "SI":
            return self._weight(self.display)
        if command == "S":
            return self._wait_stable(self._weight, lambda _: b"S I\r\n")
        if command == "SIR":
            self._streaming = True
            self._next_stream = self.model.t
            return b""
        if command == "@":
            # Reset: cancel SIR and waiting commands; the scale answers with its serial number.
            self._streaming = False
            self._pending.clear()
            return self._identify()
        if command == "I4":
            return self._identify()
        if command == "Z":
            return self._wait_stable(lambda d: self._zero_answer("Z", d), lambda _: b"Z I\r\n")
        if command == "ZI":
            return self._zero_answer("ZI", self.display)
        if command == "T":
            return self._wait_stable(self._tare_answer, lambda _: b"T I\r\n")
        if command == "TAC":
            self.tare_g = 0.0
            return b"TAC A\r\n"
        return b"ES\r\n"


class Toledo8217Device(SimDevice):
    """A Toledo 8217 scanner-scale: single-character ``W H Z T C``, ``STX ... CR`` answers."""

    protocol = toledo_8217.PROTOCOL
    default_unit = toledo_8217.DEFAULT_UNIT
    default_decimals = 3
    # Bit 6 set, bit 5 clear: the Datalogic layout (``?A`` motion, ``?P`` centre of zero).
    STATUS_BASE = 0x40
    FIELD_WIDTH = 6

    def status_byte(self, display: Display) -> int:
        """The status byte for a sample."""
        status = self.STATUS_BASE
        if not display.settled:
            status |= toledo_8217.MOTION
        if display.overload:
            status |= toledo_8217.OVER_CAPACITY
        elif display.net_g < 0 and not self._at_zero(display):
            status |= toledo_8217.UNDER_ZERO
        if self._at_zero(display):
            status |= toledo_8217.CENTRE_OF_ZERO
        return status

    def _status_record(self) -> bytes:
        return bytes([toledo_8217.STX, ord("?"), self.status_byte(self.display), toledo_8217.CR])

    def _weight(self, high_resolution: bool) -> bytes:
        display = self.display
        status = self.status_byte(display)
        if status & (toledo_8217.MOTION | toledo_8217.OVER_CAPACITY | toledo_8217.UNDER_ZERO):
            return self._status_record()
        extra = 1 if high_resolution else 0
        value = self._value(display.net_g, extra).zfill(self.FIELD_WIDTH + extra)
        if len(value) > self.FIELD_WIDTH + extra:
            # More than the field holds: the scale reports over capacity instead.
            return bytes(
                [toledo_8217.STX, ord("?"), status | toledo_8217.OVER_CAPACITY, toledo_8217.CR]
            )
        return bytes([toledo_8217.STX]) + value.encode("ascii") + bytes([toledo_8217.CR])

    def receive(self, data: bytes, t: float) -> bytes:
        """Single-character commands; anything else (CR, LF, noise) is ignored."""
        del t
        out = bytearray()
        for byte in data:
            out += self._command(chr(byte & 0x7F))
        return bytes(out)

    def _command(self, line: str) -> bytes:
        display = self.display
        if line == "W":
            return self._weight(high_resolution=False)
        if line == "H":
            return self._weight(high_resolution=True)
        if line == "Z":
            if display.settled and not display.overload:
                self._set_zero()
            return self._status_record_after()
        if line == "T":
            if display.settled and not display.overload and display.gross_g > 0:
                self.tare_g = display.gross_g
            return self._status_record_after()
        if line == "C":
            self.tare_g = 0.0
            return self._status_record_after()
        return b""

    def _status_record_after(self) -> bytes:
        return self._status_record()


class NciDevice(SimDevice):
    """An NCI / Weigh-Tronix scale: ``W H S Z`` ending in CR, ``LF ... ETX`` answers."""

    protocol = nci.PROTOCOL
    default_unit = "kg"
    default_decimals = 3
    FIELD_WIDTH = 8

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        super().__init__(model, options)
        self._input = LineInput(b"\r\n")

    def status_bytes(self, display: Display) -> bytes:
        """The two status bytes for a sample."""
        b1 = 0x30
        if not display.settled:
            b1 |= nci.MOTION
        if self._at_zero(display):
            b1 |= nci.AT_ZERO
        b2 = 0x30
        if display.overload:
            b2 |= nci.OVER_CAPACITY
        if display.underload:
            b2 |= nci.UNDER_CAPACITY
        return bytes([b1, b2])

    def _frame(self, *lines: bytes) -> bytes:
        return b"\n" + b"\r\n".join(lines) + b"\r\x03"

    def _weight(self, high_resolution: bool) -> bytes:
        display = self.display
        status = self.status_bytes(display)
        width = self.FIELD_WIDTH + (1 if high_resolution else 0)
        if display.overload:
            return self._frame(b"^" * width + self.unit.encode("ascii"), status)
        if display.underload:
            return self._frame(b"-" * width + self.unit.encode("ascii"), status)
        value = self._value(display.net_g, 1 if high_resolution else 0)
        if len(value) > width:
            status = bytes([status[0], status[1] | nci.OVER_CAPACITY])
            return self._frame(b"^" * width + self.unit.encode("ascii"), status)
        return self._frame(f"{value:>{width}}{self.unit}".encode("ascii"), status)

    def _command(self, line: str) -> bytes:
        command = line.strip(" ")
        if command == "W":
            return self._weight(high_resolution=False)
        if command == "H":
            return self._weight(high_resolution=True)
        if command == "S":
            return self._frame(self.status_bytes(self.display))
        if command == "Z":
            if self.display.settled and not self.display.overload:
                self._set_zero()
            return self._frame(self.status_bytes(self.display))
        return b"\n?\r\x03"


class ContinuousDevice(SimDevice):
    """An A&D balance in stream mode (``ST,+00123.45  g`` lines) that also takes commands."""

    protocol = continuous.PROTOCOL
    default_unit = "g"
    default_decimals = 1
    VALUE_WIDTH = 9  # sign included
    ACK = bytes([continuous.ACK]) + b"\r\n"

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        super().__init__(model, options)
        self._input = LineInput()
        self._streaming = True

    def boot(self, t: float) -> bytes:
        """Power-up: the balance streams unasked."""
        out = super().boot(t)
        self._streaming = True
        self._next_stream = t
        return out

    def _line(self, display: Display) -> bytes:
        if display.overload:
            return b"OL,+9999999E+19\r\n"
        if display.underload:
            return b"OL,-9999999E+19\r\n"
        value = self._value(display.net_g)
        sign = "-" if value.startswith("-") else "+"
        field = sign + value.lstrip("-").zfill(self.VALUE_WIDTH - 1)
        if len(field) > self.VALUE_WIDTH:
            return b"OL,+9999999E+19\r\n"
        header = "ST" if display.settled else "US"
        return f"{header},{field}{self.unit:>3}\r\n".encode("ascii")

    def _stream_line(self, display: Display) -> bytes:
        return self._line(display)

    def _zero_answer(self, display: Display) -> bytes:
        if not display.overload:
            self._set_zero()
        return b""

    def _tare_answer(self, display: Display) -> bytes:
        if not display.overload and display.gross_g >= 0:
            self.tare_g = display.gross_g
        return b""

    def _command(self, line: str) -> bytes:
        command = line.strip(" ")
        if command in ("Q", "SI"):
            return self._line(self.display)
        if command == "S":
            # Waits for stability; on timeout the balance sends what it has.
            return self._wait_stable(self._line, self._line)
        if command == "SIR":
            self._streaming = True
            self._next_stream = self.model.t
            return b""
        if command == "C":
            self._streaming = False
            return self.ACK
        if command in ("R", "Z"):
            # Acknowledged at once; the balance re-zeroes when the weight is stable.
            return self.ACK + self._wait_stable(self._zero_answer, lambda _: b"")
        if command == "T":
            return self.ACK + self._wait_stable(self._tare_answer, lambda _: b"")
        if command in ("?SN", "?ID"):
            return f"{command[1:]},{self.options.serial_number}\r\n".encode("ascii")
        return b"EC,E1\r\n"
