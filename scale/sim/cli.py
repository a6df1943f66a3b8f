"""``smartcart scale-sim`` (registered by the core's CLI; also ``python -m scale.sim``).

The first line on stdout is where the simulator serves (a pty path or ``socket://`` URL),
flushed at once so that a script or a test can read it and open the port. Events and answers
to interactive commands follow; diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from scale.protocols import PROTOCOLS

if TYPE_CHECKING:
    from scale.sim.device_base import DeviceOptions
    from scale.sim.physics import BasketParams
    from scale.sim.script import Script
    from scale.sim.server import SimServer

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's options."""
    parser.add_argument(
        "--protocol", required=True, choices=sorted(PROTOCOLS), help="wire protocol to speak"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true", help="serve on a pty pair (default)")
    where.add_argument(
        "--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (0 picks a free port)"
    )
    parser.add_argument(
        "--link", type=Path, help="with --pty: keep a symlink at this path to the pty"
    )
    drive = parser.add_mutually_exclusive_group()
    drive.add_argument("--script", type=Path, help="timeline of commands to play")
    drive.add_argument(
        "--interactive", action="store_true", help="read commands from stdin (try 'put 500')"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--noise-g", type=float, help="noise on the total, standard deviation in grams"
    )
    parser.add_argument("--spike-rate-hz", type=float, help="mean rate of single-sample spikes")
    parser.add_argument("--drift-g", type=float, help="thermal drift of the zero, in grams")
    parser.add_argument("--capacity-g", type=float, help="capacity of the basket in grams")
    parser.add_argument("--unit", help="display unit of the scale (g, kg, lb)")
    parser.add_argument("--serial-number", help="what the scale answers to identify")
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after S seconds (default: run on)"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scale-sim`` command to the CLI."""
    parser = subparsers.add_parser(
        "scale-sim",
        help="run the scale simulator",
        description="Serve a simulated basket scale over a pty or TCP, in any protocol.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def _params(args: argparse.Namespace) -> BasketParams:
    from scale.sim.physics import BasketParams

    overrides = {
        name: value
        for name, value in (
            ("noise_g", args.noise_g),
            ("spike_rate_hz", args.spike_rate_hz),
            ("drift_g", args.drift_g),
            ("capacity_g", args.capacity_g),
        )
        if value is not None
    }
    return BasketParams(**overrides)


def _options(args: argparse.Namespace) -> DeviceOptions:
    from scale.sim.device_base import DeviceOptions

    if args.serial_number is not None:
        return DeviceOptions(unit=args.unit, serial_number=args.serial_number)
    return DeviceOptions(unit=args.unit)


def run(args: argparse.Namespace) -> int:
    """Run the simulator until ``--duration`` passes, ``quit``, end of input or a signal."""
    # Imported here so that building the CLI's parser stays cheap (numpy is not needed for it).
    from scale.sim.script import ScriptError, load_script

    err = sys.stderr
    if args.duration is not None and not args.duration > 0:
        print("scale-sim: --duration must be positive", file=err)
        return EXIT_USAGE
    if args.link is not None and args.tcp is not None:
        print("scale-sim: --link only applies to --pty", file=err)
        return EXIT_USAGE
    try:
        script = load_script(args.script) if args.script is not None else None
        params, options = _params(args), _options(args)
    except ScriptError as exc:
        print(f"scale-sim: {exc}", file=err)
        return EXIT_USAGE
    except OSError as exc:
        print(f"scale-sim: cannot read the script: {exc}", file=err)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"scale-sim: {exc}", file=err)
        return EXIT_USAGE
    try:
        server = _start(args, params, options, script)
    except ValueError as exc:
        print(f"scale-sim: {exc}", file=err)
        return EXIT_USAGE
    except OSError as exc:
        print(f"scale-sim: cannot serve: {exc}", file=err)
        return EXIT_FAILURE
    out = sys.stdout
    print(server.url, file=out, flush=True)
    print(
        f"scale-sim: {args.protocol} scale at {server.url} (seed {args.seed})", file=err, flush=True
    )
    prompt_done = threading.Event()
    try:
        with _stop_on_sigterm(server):
            if args.interactive:
                # A daemon: a blocked read of stdin must not keep the process alive.
                threading.Thread(
                    target=_prompt,
                    args=(server, sys.stdin, out, prompt_done),
                    name="scale-sim-stdin",
                    daemon=True,
                ).start()
            quit_asked = server.finished.wait(args.duration)
            if args.interactive and quit_asked:
                # Let the prompt print the answer to its own quit before the process ends.
                prompt_done.wait(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    if server.error is not None:
        print(f"scale-sim: stopped on an error: {server.error}", file=err)
        return EXIT_FAILURE
    return EXIT_OK


def _start(
    args: argparse.Namespace, params: BasketParams, options: DeviceOptions, script: Script | None
) -> SimServer:
    from scale.sim.server import start_simulator

    def echo(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.tcp is not None:
        url = f"socket://127.0.0.1:{args.tcp}"
    else:
        url = str(args.link) if args.link is not None else ""
    return start_simulator(
        args.protocol,
        url=url,
        params=params,
        options=options,
        seed=args.seed,
        script=script,
        on_event=echo,
    )


@contextlib.contextmanager
def _stop_on_sigterm(server: SimServer) -> Iterator[None]:
    """SIGTERM ends the run like ``quit`` (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        server.finished.set()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _prompt(server: SimServer, stdin: TextIO, out: TextIO, done: threading.Event) -> None:
    """Read commands from ``stdin`` until ``quit`` or end of input, printing each outcome."""
    try:
        _read_commands(server, stdin, out)
    finally:
        done.set()


def _read_commands(server: SimServer, stdin: TextIO, out: TextIO) -> None:
    from scale.sim.script import Quit, ScriptError, parse_command

    for raw in stdin:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            command = parse_command(line)
        except ScriptError as exc:
            print(f"error: {exc}", file=out, flush=True)
            continue
        try:
            print(server.submit(command).result(timeout=5.0), file=out, flush=True)
        except Exception as exc:
            print(f"error: {exc}", file=out, flush=True)
        if isinstance(command, Quit) or server.finished.is_set():
            return
    # End of input ends an interactive session, as in any shell.
    server.submit(Quit())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scale.sim``: the simulator without the cart application."""
    parser = argparse.ArgumentParser(
        prog="scale-sim",
        description="Serve a simulated basket scale over a pty or TCP, in any protocol.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
