"""``smartcart scale …`` subcommands (registered by the core's CLI).

- ``scale watch``: one line per settled weight change and per link state change, for staff at
  the cart and for tests (``--json``: one JSON object per line).
- ``scale calibrate``: the maintenance calibration of the cart board, step by step.
- ``scale detect``: the ports with a configured USB id, optionally probed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from scale.calibration import (
    CalibrationError,
    CalibrationProcedure,
    CountsCapture,
    load_calibration,
    save_calibration,
)
from scale.filter import ChangeCancelled, Settled, ZeroAlert
from scale.protocols import PROTOCOLS, get_protocol
from scale.service import ScaleEvent, ScaleService
from scale.service_settings import ScaleSettings
from scale.state import CommandResult, DeviceState, ScaleStateChanged, SystemMonotonic
from scale.types import WeightChange

EXIT_OK = 0
EXIT_FAILURE = 1
# Frames skipped at the start of each calibration capture: the basket still swings a little
# after staff let go of the weight and press Enter.
CAPTURE_SKIP_S = 0.3


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scale`` command group to the CLI."""
    scale = subparsers.add_parser("scale", help="scale tools")
    sub = scale.add_subparsers(dest="scale_command", required=True)

    def link_args(p: argparse.ArgumentParser, protocol_default: str | None) -> None:
        p.add_argument("--port", required=True, help="pyserial URL: /dev/ttyUSB0, socket://…")
        p.add_argument(
            "--protocol",
            choices=sorted(PROTOCOLS),
            default=protocol_default,
            required=protocol_default is None,
            help="wire protocol",
        )
        p.add_argument("--baudrate", type=int, help="override the protocol's usual baud rate")
        p.add_argument("--calibration", type=Path, help="cart board calibration file (JSON)")
        p.add_argument("--wirelog", type=Path, help="append the raw bytes to this file")

    p = sub.add_parser("watch", help="print settled weight changes and link state changes")
    link_args(p, None)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--settle-time", type=float, help="override settle_time_s")
    p.add_argument("--min-change", type=float, help="override min_change_g")
    p.add_argument("--no-identify", action="store_true", help="do not send the identify probe")
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("calibrate", help="calibrate the cart board's load cells")
    link_args(p, "cartboard")
    p.add_argument("--reference-g", type=float, required=True, help="the reference weight")
    p.add_argument("--output", type=Path, required=True, help="calibration file to write")
    p.add_argument("--capture-s", type=float, default=2.0, help="seconds captured per step")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("detect", help="list (and probe) ports with a configured USB id")
    p.add_argument("--usb-id", action="append", required=True, help="VID:PID in hex; repeat")
    p.add_argument("--protocol", choices=sorted(PROTOCOLS), help="probe with this protocol")
    p.set_defaults(func=cmd_detect)


def _settings(args: argparse.Namespace) -> ScaleSettings:
    base = ScaleSettings()
    return replace(
        base,
        baudrate=getattr(args, "baudrate", None) or base.baudrate,
        settle_time_s=getattr(args, "settle_time", None) or base.settle_time_s,
        min_change_g=getattr(args, "min_change", None) or base.min_change_g,
        identify=not getattr(args, "no_identify", False),
    )


def _service(args: argparse.Namespace) -> ScaleService:
    calibration = load_calibration(args.calibration) if args.calibration else None
    service = ScaleService(args.port, args.protocol, _settings(args), calibration=calibration)
    if args.wirelog:
        service.wirelog.enable(args.wirelog)
    return service


@dataclass
class WatchPrinter:
    """Formats service events as watch lines; ``t`` counts seconds from ``t0``."""

    t0: float
    as_json: bool
    out: TextIO
    total_g: float | None = None
    reached_ok: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: ScaleEvent) -> None:
        """Print one line for the events staff care about."""
        line = self.line(event)
        if line is not None:
            with self._lock:
                self.out.write(line + "\n")
                self.out.flush()

    def line(self, event: ScaleEvent) -> str | None:
        """The line for ``event``, or ``None`` for events watch does not show."""
        record: dict[str, object]
        if isinstance(event, Settled):
            self.total_g = event.grams
            return None
        if isinstance(event, WeightChange):
            self.total_g = event.after_g
            record = self._record(event.t_settled, "change", event.delta_g)
            text = f"change {event.delta_g:+10.1f} g   total {event.after_g:10.1f} g"
        elif isinstance(event, ScaleStateChanged):
            self.reached_ok = self.reached_ok or event.state is DeviceState.OK
            record = self._record(event.t, "state", None, state=event.state.value)
            record["reason"] = event.reason
            text = f"state  {event.state.value:<12} {event.reason}"
        elif isinstance(event, ChangeCancelled):
            record = self._record(event.t, "cancelled", -event.change.delta_g)
            record["reason"] = event.reason
            text = f"cancel {-event.change.delta_g:+10.1f} g   ({event.reason})"
        elif isinstance(event, ZeroAlert):
            record = self._record(event.t, "alert", None, alert=event.reason)
            record["reason"] = event.detail
            text = f"alert  {event.reason}: {event.detail}"
        elif isinstance(event, CommandResult):
            record = self._record(event.t, "command", None, command=event.command)
            record.update(ok=event.ok, reason=event.message)
            text = f"cmd    {event.command}: {'ok' if event.ok else 'failed'}: {event.message}"
        else:
            return None
        if self.as_json:
            return json.dumps(record)
        return f"{record['t']:9.3f}  {text}"

    def _record(
        self, t: float, kind: str, delta_g: float | None, **extra: object
    ) -> dict[str, object]:
        total = None if self.total_g is None else round(self.total_g, 2)
        delta = None if delta_g is None else round(delta_g, 2)
        return {
            "t": round(t - self.t0, 3),
            "kind": kind,
            "delta_g": delta,
            "total_g": total,
            **extra,
        }


def cmd_watch(args: argparse.Namespace) -> int:
    """Run the scale service and print what it reports until Ctrl-C or ``--duration``."""
    try:
        service = _service(args)
    except (CalibrationError, OSError, ValueError) as exc:
        print(f"smartcart scale watch: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    printer = WatchPrinter(SystemMonotonic().monotonic(), args.json, sys.stdout)
    service.subscribe(printer)
    done = threading.Event()
    restore = _on_sigterm(done.set)
    service.start()
    try:
        done.wait(args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        restore()
    return EXIT_OK if printer.reached_ok or args.duration is None else EXIT_FAILURE


def _on_sigterm(handler: Callable[[], None]) -> Callable[[], None]:
    """Route SIGTERM to ``handler`` (main thread only); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, lambda *_: handler())

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Calibrate the cart board interactively and write the calibration file."""
    return run_calibration(args, ask=input, out=sys.stdout)


def run_calibration(
    args: argparse.Namespace,
    *,
    ask: Callable[[str], str],
    out: TextIO,
    ready_timeout_s: float = 15.0,
) -> int:
    """The calibrate command with its prompt and output injectable (for tests)."""
    if args.protocol != "cartboard":
        print("calibration is for the cart board (other scales calibrate themselves)", file=out)
        return EXIT_FAILURE
    args.calibration = None  # raw counts are what is captured; any old file is irrelevant
    service = _service(args)
    ready = threading.Event()
    service.subscribe(
        lambda e: (
            ready.set() if isinstance(e, ScaleStateChanged) and e.state is DeviceState.OK else None
        )
    )
    service.start()
    try:
        if not ready.wait(ready_timeout_s):
            print(f"the scale did not come up: {service.status().reason}", file=out)
            return EXIT_FAILURE
        procedure = CalibrationProcedure(args.reference_g)
        while (step := procedure.current) is not None:
            ask(f"{step.instruction} Press Enter to capture. ")
            try:
                procedure.record(_capture(service, args.capture_s))
            except CalibrationError as exc:
                print(f"  {step.key}: {exc}; repeating the step", file=out, flush=True)
                continue
            print(f"  {step.key}: captured", file=out, flush=True)
        try:
            calibration = procedure.result()
        except CalibrationError as exc:
            print(f"calibration failed: {exc}", file=out)
            return EXIT_FAILURE
        save_calibration(calibration, args.output)
        for i, cell in enumerate(calibration.cells, start=1):
            print(
                f"  cell {i}: zero {cell.zero_counts:.0f} counts, "
                f"{cell.counts_per_gram:.3f} counts/g",
                file=out,
            )
        print(f"wrote {args.output}", file=out)
        return EXIT_OK
    except (EOFError, KeyboardInterrupt):
        print("\ncalibration abandoned; nothing written", file=out)
        return EXIT_FAILURE
    finally:
        service.stop()


def _capture(service: ScaleService, seconds: float) -> tuple[float, ...]:
    capture = CountsCapture(seconds, skip_s=CAPTURE_SKIP_S)
    service.add_frame_tap(capture)
    try:
        return capture.wait(CAPTURE_SKIP_S + seconds + 10.0)
    finally:
        service.remove_frame_tap(capture)


def cmd_detect(args: argparse.Namespace) -> int:
    """List the ports with a configured USB id; with ``--protocol``, probe each."""
    from scale.autodetect import UsbId, candidate_ports, probe

    try:
        ids = [UsbId.parse(text) for text in args.usb_id]
    except ValueError as exc:
        print(f"smartcart scale detect: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    candidates = candidate_ports(ids)
    if not candidates:
        print("no port with USB id " + ", ".join(str(i) for i in ids))
        return EXIT_FAILURE
    found = False
    for candidate in candidates:
        line = f"{candidate.url}  {candidate.usb_id}  {candidate.description}"
        if args.protocol:
            result = probe(candidate, get_protocol(args.protocol))
            found = found or result.ok
            verdict = f"{args.protocol} ({result.how}, id {result.device_id})" if result.ok else "-"
            line += f"  {verdict}: {result.detail}"
        print(line)
    return EXIT_OK if found or not args.protocol else EXIT_FAILURE
