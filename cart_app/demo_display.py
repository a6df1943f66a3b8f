"""Where the demo shows its window: the developer's screen, a virtual X server, or nowhere.

* A display (``DISPLAY`` / ``WAYLAND_DISPLAY``, or macOS/Windows): the window opens there and
  stays open after the trip, for the developer to take over.
* No display but ``Xvfb`` installed (a CI runner, an SSH session): the demo starts its own
  Xvfb on a free display number (``-displayfd``: the server picks the number and reports it, so
  parallel runs never race for one), draws the window there for the screenshots, and stops it.
* Neither (or ``--headless``): no window; the trip still runs and prints each step.
"""

from __future__ import annotations

import contextlib
import enum
import importlib.util
import os
import select
import shutil
import subprocess
from collections.abc import Iterator

XVFB_START_TIMEOUT_S = 10.0
SCREEN = "1280x800x24"
"""The virtual screen: the cart's 1280×800 touchscreen (``ui.app.WINDOW_SIZE``)."""


class DisplayKind(enum.StrEnum):
    """Where the demo's window goes."""

    SCREEN = "screen"
    VIRTUAL = "virtual"
    NONE = "none"


def has_display() -> bool:
    """Whether a window can be opened now (``ui.has_display``, without importing the UI)."""
    try:
        from ui import has_display as ui_has_display
    except ImportError:
        return False
    return ui_has_display()


def ui_installed() -> bool:
    """Whether the touchscreen package and Kivy are installed.

    Found, not imported: importing Kivy starts its logging and reads the command line.
    """
    return all(importlib.util.find_spec(name) is not None for name in ("kivy", "ui"))


def choose_display(*, headless: bool) -> DisplayKind:
    """The display the demo will use (see the module docstring)."""
    if headless or not ui_installed():
        return DisplayKind.NONE
    if has_display():
        return DisplayKind.SCREEN
    if shutil.which("Xvfb"):
        return DisplayKind.VIRTUAL
    return DisplayKind.NONE


@contextlib.contextmanager
def virtual_display(screen: str = SCREEN) -> Iterator[str]:
    """Run an Xvfb server for the block, with ``DISPLAY`` pointing at it; yields its name.

    Raises :class:`OSError` when the server does not come up.
    """
    read_fd, write_fd = os.pipe()
    try:
        server = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        os.close(write_fd)
    try:
        number = _read_display_number(read_fd)
    except OSError:
        server.kill()
        server.wait()
        raise
    finally:
        os.close(read_fd)
    name = f":{number}"
    previous = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = name
    try:
        yield name
    finally:
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _read_display_number(fd: int) -> int:
    """The display number Xvfb writes (a line) once it accepts connections."""
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], XVFB_START_TIMEOUT_S)
        if not ready:
            raise OSError(f"Xvfb did not start within {XVFB_START_TIMEOUT_S:.0f} s")
        chunk = os.read(fd, 64)
        if not chunk:
            raise OSError("Xvfb exited before reporting its display")
        data += chunk
    return int(data.strip())
