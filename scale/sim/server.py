"""Serve a simulated scale over a pty pair or a TCP port, in real time, on one thread.

The cart opens the other end exactly as it opens a real scale: the pty's slave path (or a stable
symlink to it) with pyserial, or ``socket://127.0.0.1:PORT``. One loop paced by a monotonic
clock steps the device at its sample rate, writes what it sends, reads what the host wrote and
writes the answers. Commands from a script, a prompt or a test are queued to that loop, so the
model and the transport are only ever touched by one thread.

``unplug`` closes the port (pty master or TCP listener and client) as a pulled cable would;
``replug`` opens it again and powers the device up. The ports are in
:mod:`scale.sim.pty_transport` and :mod:`scale.sim.tcp_transport`.
"""

from __future__ import annotations

import logging
import queue
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from scale.sim.device import make_device
from scale.sim.device_base import DeviceOptions, SimDevice
from scale.sim.physics import BasketModel, BasketParams, BasketState
from scale.sim.pty_transport import PtyTransport
from scale.sim.script import (
    Command,
    Lean,
    Push,
    Put,
    Quit,
    Remove,
    Replug,
    Script,
    Status,
    Take,
    Unplug,
    Zero,
)
from scale.sim.tcp_transport import LOCALHOST, TcpTransport
from scale.sim.transport import Transport

__all__ = [
    "PtyTransport",
    "SimServer",
    "TcpTransport",
    "Transport",
    "start_simulator",
    "transport_for_url",
]

logger = logging.getLogger(__name__)

# The loop wakes at least this often, so stop() and queued commands never wait long.
MAX_WAIT_S = 0.02


class SimServer:
    """Runs a :class:`SimDevice` on a :class:`Transport` in real time on its own thread.

    Times given to the device and used by scripts count from :meth:`start`. Every change to the
    basket goes through :meth:`submit` (or a script) and is carried out by the server's thread.
    """

    def __init__(
        self,
        device: SimDevice,
        transport: Transport,
        *,
        script: Script | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.device = device
        self.transport = transport
        self.script = script
        self._clock = clock
        self._on_event = on_event
        self._queue: queue.SimpleQueue[tuple[Command, Future[str]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.finished = threading.Event()
        self.script_done = threading.Event()
        self._quit_requested = False
        self.error: BaseException | None = None
        self._t0 = 0.0
        self._next_event = 0
        self._state: BasketState = device.model.state
        self.plugged = False

    @property
    def url(self) -> str:
        """What the host opens (changes on replug for a pty without a link)."""
        return self.transport.url

    @property
    def state(self) -> BasketState:
        """The latest sample of the basket (an immutable snapshot, safe from any thread)."""
        return self._state

    @property
    def model(self) -> BasketModel:
        """The basket model (touch it only through :meth:`submit` while the server runs)."""
        return self.device.model

    def elapsed(self) -> float:
        """Seconds since :meth:`start` on the server's clock."""
        return self._clock() - self._t0

    def start(self) -> str:
        """Open the port, power the device up and start serving; returns the URL."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        url = self.transport.open()
        self.plugged = True
        self._t0 = self._clock()
        self.transport.write(self.device.boot(0.0))
        self._thread = threading.Thread(target=self._run, name="scale-sim", daemon=True)
        self._thread.start()
        return url

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving and close the port; waits at most about ``timeout`` seconds."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread is None or not self._thread.is_alive():
            self.transport.close()
        self.finished.set()

    def __enter__(self) -> SimServer:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def submit(self, command: Command) -> Future[str]:
        """Queue a command for the server's thread; the future holds what happened."""
        future: Future[str] = Future()
        if self.finished.is_set():
            future.set_exception(RuntimeError("the simulator is not running"))
            return future
        self._queue.put((command, future))
        return future

    def unplug(self, timeout: float = 2.0) -> None:
        """Pull the cable now (waits until done)."""
        self.submit(Unplug()).result(timeout)

    def replug(self, timeout: float = 2.0) -> str:
        """Plug the cable back in (waits until done); returns the URL, which may be new."""
        self.submit(Replug()).result(timeout)
        return self.url

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                now = self.elapsed()
                self._apply_due(now)
                self._pump(now)
                if self.finished.is_set():
                    break
                self._wait(now)
                self._receive()
        except Exception as exc:  # the thread must not die silently
            logger.exception("scale simulator stopped on an error")
            self.error = exc
        finally:
            self.transport.close()
            self.plugged = False
            self.finished.set()
            self._fail_queued()

    def _pump(self, now: float) -> None:
        out = self.device.advance(now)
        self._state = self.device.model.state
        if self.plugged:
            self.transport.write(out)

    def _wait(self, now: float) -> None:
        timeout = min(MAX_WAIT_S, max(0.0, self.device.next_due() - now))
        readers, writers = self.transport.wait_fds() if self.plugged else ([], [])
        if readers or writers:
            select.select(readers, writers, [], timeout)
        elif timeout > 0:
            time.sleep(timeout)

    def _receive(self) -> None:
        if not self.plugged:
            return
        data = self.transport.read()
        if data:
            now = self.elapsed()
            self._pump(now)
            self.transport.write(self.device.receive(data, now))
        else:
            self.transport.flush()

    def _apply_due(self, now: float) -> None:
        while True:
            try:
                command, future = self._queue.get_nowait()
            except queue.Empty:
                break
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._apply(command))
            except Exception as exc:
                future.set_exception(exc)
        events = self.script.events if self.script is not None else ()
        while self._next_event < len(events) and events[self._next_event].at <= now:
            event = events[self._next_event]
            self._next_event += 1
            try:
                message = self._apply(event.command)
            except ValueError as exc:
                message = f"line {event.line}: {exc}"
            self._report(f"t={now:.2f}s {message}")
        if self._next_event >= len(events):
            self.script_done.set()
        if self._quit_requested:
            self.finished.set()

    def _report(self, message: str) -> None:
        logger.info("%s", message)
        if self._on_event is not None:
            self._on_event(message)

    def _apply(self, command: Command) -> str:
        model = self.device.model
        if isinstance(command, Put):
            return "put " + model.put(command.grams, command.position).describe()
        if isinstance(command, Take):
            return "took " + model.take(command.grams).describe()
        if isinstance(command, Remove):
            return "took " + model.remove(command.item_id).describe()
        if isinstance(command, Push):
            model.set_pushing(command.on, command.duration_s)
            if not command.on:
                return "push off"
            return f"push for {command.duration_s:g} s" if command.duration_s else "push on"
        if isinstance(command, Lean):
            model.lean(command.grams, command.duration_s)
            return f"lean {command.grams:g} g for {command.duration_s:g} s"
        if isinstance(command, Zero):
            return self.device.zero()
        if isinstance(command, Unplug):
            if self.plugged:
                self.transport.close()
                self.plugged = False
            return "unplugged"
        if isinstance(command, Replug):
            if not self.plugged:
                self.transport.open()
                self.plugged = True
                self.transport.write(self.device.boot(self.elapsed()))
            return f"plugged in at {self.url}"
        if isinstance(command, Status):
            return self._status()
        if isinstance(command, Quit):
            # Finished only at the end of this tick, once ``script_done`` reflects the quit:
            # a waiter woken by ``finished`` must see the script's state settled.
            self._quit_requested = True
            return "quit"
        raise TypeError(f"not a command: {command!r}")

    def _status(self) -> str:
        state = self.device.model.state
        display = self.device.display
        items = "; ".join(item.describe() for item in self.device.model.items) or "empty"
        flags = "settled" if state.settled else "moving"
        if display.overload:
            flags += ", overload"
        return (
            f"t={state.t:.2f}s load {state.load_g:.1f} g, scale reads {display.net_g:.1f} g "
            f"({flags}); basket: {items}"
        )

    def _fail_queued(self) -> None:
        while True:
            try:
                _, future = self._queue.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_exception(RuntimeError("the simulator stopped"))


def transport_for_url(url: str) -> Transport:
    """The transport that serves at the URL the cart will open (the config's ``scale.url``).

    ``""`` is a new pty (its path is only known once open); ``socket://127.0.0.1:PORT`` (or
    ``localhost``; port 0 picks one) is TCP on the loopback interface; any other text is a path
    where a symlink to a new pty is kept. Other hosts are refused: the simulator never listens
    on a network the cart is not alone on.
    """
    if not url:
        return PtyTransport()
    scheme, sep, rest = url.partition("://")
    if not sep:
        return PtyTransport(Path(url))
    if scheme != "socket":
        raise ValueError(f"the simulator serves a pty path or socket://, not {scheme}://")
    host, colon, port_text = rest.partition(":")
    port_text = port_text.split("?", 1)[0].rstrip("/")
    if host not in (LOCALHOST, "localhost") or not colon or not port_text.isdigit():
        raise ValueError(f"expected socket://127.0.0.1:PORT, got {url!r}")
    return TcpTransport(int(port_text))


def start_simulator(
    protocol: str,
    *,
    url: str = "",
    params: BasketParams | None = None,
    options: DeviceOptions | None = None,
    seed: int = 0,
    script: Script | None = None,
    on_event: Callable[[str], None] | None = None,
) -> SimServer:
    """Build and start a simulator serving at ``url`` (see :func:`transport_for_url`).

    This is what the laptop profile's composition root calls with the configuration's scale
    protocol and URL; the returned server's ``url`` is what to give the serial reader (the pty
    path when ``url`` was empty). Call ``stop()`` when done.
    """
    transport = transport_for_url(url)
    model = BasketModel(params, seed=seed)
    device = make_device(protocol, model, options)
    server = SimServer(device, transport, script=script, on_event=on_event)
    server.start()
    return server
