"""``smartcart doctor``: is this machine ready to run the cart? Each check says what to fix.

Every check is a function returning a :class:`Finding` (OK, WARN or FAIL, what was found, and
the fix); :func:`run_checks` runs them for a configuration. FAIL means the cart cannot work as
configured (the exit status is then 1); WARN means it works with less (no window, no second
barcode decoder, a fallback camera). The checks do the real thing where it is cheap: decode a
rendered barcode, hash the model file, open the serial device, connect to the store, write a
file in the data folder; they never open a window or a camera stream.
"""

from __future__ import annotations

import argparse
import enum
import grp
import importlib.util
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cart_app.config import LoadedConfig, load_config
from cart_app.store.contract import API_PREFIX

MIN_FREE_BYTES = 200 * 1024 * 1024
"""Below this, FAIL: the ledger and recordings need room to be written safely."""
LOW_FREE_BYTES = 1024 * 1024 * 1024
"""Below this, WARN: camera recordings fill a gigabyte in minutes."""
PROBE_CODE = "4006381333931"


class Status(enum.StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result: what was found and, unless OK, how to fix it."""

    check: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.value:<4}  {self.check:<10} {self.detail}"
        return text + (f"\n      fix: {self.fix}" if self.fix else "")


def _probe_image() -> Any:
    from vision.render.ean import render_ean

    return render_ean("ean13", PROBE_CODE, module_px=3)


def check_zbar() -> Finding:
    """libzbar through pyzbar: the cart's first barcode decoder, required."""
    fix = "install libzbar: sudo apt install libzbar0 (macOS: brew install zbar)"
    try:
        from vision.barcode.decoders import ZbarDecoder

        reads = ZbarDecoder().decode(_probe_image())
    except (ImportError, OSError) as exc:
        return Finding("libzbar", Status.FAIL, f"pyzbar cannot load libzbar: {exc}", fix)
    if not any(r.text == PROBE_CODE for r in reads):
        return Finding("libzbar", Status.FAIL, "libzbar loads but did not decode a test EAN", fix)
    return Finding("libzbar", Status.OK, "pyzbar decodes a test EAN-13")


def check_zxing() -> Finding:
    """zxing-cpp: the second decoder (misreads need two decoders to agree); optional."""
    fix = "pip install zxing-cpp (in .venv: ./dev installs it)"
    try:
        from vision.barcode.decoders import ZxingDecoder

        reads = ZxingDecoder().decode(_probe_image())
    except ImportError as exc:
        return Finding("zxing-cpp", Status.WARN, f"not installed ({exc}): zbar reads alone", fix)
    if not any(r.text == PROBE_CODE for r in reads):
        return Finding("zxing-cpp", Status.WARN, "imports but did not decode a test EAN", fix)
    return Finding("zxing-cpp", Status.OK, "decodes a test EAN-13")


def check_cameras(loaded: LoadedConfig, dev: Path = Path("/dev")) -> Finding:
    """Video devices, and the configured webcams among them (readable and writable)."""
    found = sorted(dev.glob("video*"))
    wanted = []
    for camera in loaded.config.cameras:
        match = re.fullmatch(r"webcam:(\d+)", camera.source)
        if match:
            wanted.append(dev / f"video{match.group(1)}")
        elif camera.source.startswith("/dev/"):
            wanted.append(Path(camera.source))
    missing = [str(p) for p in wanted if not p.exists()]
    denied = [str(p) for p in wanted if p.exists() and not os.access(p, os.R_OK | os.W_OK)]
    names = ", ".join(p.name for p in found) or "none"
    if denied:
        return Finding(
            "cameras",
            Status.FAIL,
            f"no permission to open {', '.join(denied)}",
            "sudo usermod -aG video $USER, then log in again",
        )
    if missing:
        fallback = (
            " (the laptop profile uses the demo camera)"
            if loaded.config.profile == "laptop"
            else ""
        )
        status = Status.WARN if loaded.config.profile == "laptop" else Status.FAIL
        return Finding(
            "cameras",
            status,
            f"configured {', '.join(missing)} not present; video devices: {names}{fallback}",
            "plug the camera in, or set [[cameras]] source to an existing device or 'demo'",
        )
    return Finding("cameras", Status.OK, f"video devices: {names}")


def _in_group(name: str) -> bool:
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        return False
    return gid in os.getgroups() or os.getgid() == gid


def check_serial(loaded: LoadedConfig, access: Callable[[str, int], bool] = os.access) -> Finding:
    """The scale's serial port: present and openable; the simulator needs a pty."""
    scale = loaded.config.scale
    if scale.driver == "none":
        return Finding("serial", Status.OK, "no scale configured")
    if scale.driver == "simulator":
        try:
            primary, secondary = os.openpty()
        except OSError as exc:
            return Finding("serial", Status.FAIL, f"cannot open a pty: {exc}", "mount /dev/pts")
        os.close(primary)
        os.close(secondary)
        return Finding("serial", Status.OK, "scale simulator: ptys available")
    url = scale.url
    if "://" in url:
        return Finding("serial", Status.OK, f"scale at {url} (network; see the store check)")
    path = Path(url)
    if not path.exists():
        ports = sorted(str(p) for p in Path("/dev").glob("tty[UA][SC][BM]*"))
        return Finding(
            "serial",
            Status.FAIL,
            f"{url} does not exist; serial ports here: {', '.join(ports) or 'none'}",
            "plug the scale in, or set [scale] url to its port (ls /dev/serial/by-id)",
        )
    if not access(str(path), os.R_OK | os.W_OK):
        hint = "" if _in_group("dialout") else " (you are not in the dialout group)"
        return Finding(
            "serial",
            Status.FAIL,
            f"no permission to open {url}{hint}",
            "sudo usermod -aG dialout $USER, then log in again",
        )
    return Finding("serial", Status.OK, f"{url} is present and openable")


def check_display(env: dict[str, str] | None = None) -> Finding:
    """A window for the touchscreen: a display, or Xvfb to draw into; Kivy's SDL2 provider."""
    env = dict(os.environ) if env is None else env
    spec = importlib.util.find_spec("kivy")
    if spec is None or not spec.submodule_search_locations:
        return Finding(
            "display", Status.WARN, "Kivy is not installed: no touchscreen", "pip install kivy"
        )
    # Looked up as a file: importing kivy.core.window would open a window.
    kivy_dir = Path(next(iter(spec.submodule_search_locations)))
    if not any((kivy_dir / "core" / "window").glob("_window_sdl2*")):
        return Finding(
            "display",
            Status.WARN,
            "Kivy has no SDL2 window provider",
            "reinstall Kivy from wheels (pip install --force-reinstall kivy)",
        )
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        shown = env.get("WAYLAND_DISPLAY") or env.get("DISPLAY")
        return Finding("display", Status.OK, f"Kivy SDL2 window on display {shown}")
    if shutil.which("Xvfb", path=env.get("PATH")):
        return Finding(
            "display", Status.OK, "no display; the demo draws its window on Xvfb (installed)"
        )
    return Finding(
        "display",
        Status.WARN,
        "no display and no Xvfb: the cart and demo run without a window",
        "run from a desktop session, or install Xvfb: sudo apt install xvfb",
    )


def check_model(manifest_path: Path | None = None) -> Finding:
    """The recognition model: its manifest reads and the file's sha256 matches it."""
    from vision.recognition.manifest import DEFAULT_MANIFEST, Manifest, ModelError

    path = manifest_path or DEFAULT_MANIFEST
    try:
        manifest = Manifest.load(path, verify=True)
    except ModelError as exc:
        return Finding(
            "model",
            Status.FAIL,
            str(exc),
            "restore models/ from git (git checkout -- models/); see smartcart model info",
        )
    return Finding("model", Status.OK, f"{manifest.name}: sha256 matches the manifest")


def check_store(loaded: LoadedConfig, timeout_s: float = 3.0) -> Finding:
    """The configured store API answers its health endpoint."""
    store = loaded.config.store
    if store.mode != "http":
        return Finding("store", Status.OK, "embedded demo store (no network needed)")
    url = store.base_url.rstrip("/") + f"{API_PREFIX}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Finding(
            "store",
            Status.WARN,
            f"{store.base_url} unreachable ({reason}); the cart works offline and syncs later",
            "start it (smartcart store-server) or fix [store] base_url",
        )
    if code != 200:
        return Finding(
            "store", Status.FAIL, f"{url} answered HTTP {code}", "check [store] base_url"
        )
    return Finding("store", Status.OK, f"{store.base_url} answers")


def check_data_dir(path: Path) -> Finding:
    """The data folder exists (or can be made) and takes a file."""
    fix = f"make {path} writable for this user, or set [paths] data_dir"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        return Finding("data dir", Status.FAIL, f"{path}: {exc.strerror or exc}", fix)
    return Finding("data dir", Status.OK, f"{path} is writable")


def check_disk(
    path: Path, *, fail_below: int = MIN_FREE_BYTES, warn_below: int = LOW_FREE_BYTES
) -> Finding:
    """Free space where the data folder lives."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    text = f"{free / 1024**3:.1f} GiB free at {probe}"
    if free < fail_below:
        return Finding(
            "disk", Status.FAIL, text, "free some space: the ledger must always be writable"
        )
    if free < warn_below:
        return Finding(
            "disk", Status.WARN, text, "free some space before recording camera sessions"
        )
    return Finding("disk", Status.OK, text)


def run_checks(loaded: LoadedConfig) -> list[Finding]:
    """Every check, in the order a person would fix things."""
    data_dir = loaded.resolve(loaded.config.paths.data_dir)
    return [
        check_zbar(),
        check_zxing(),
        check_cameras(loaded),
        check_serial(loaded),
        check_display(),
        check_model(),
        check_store(loaded),
        check_data_dir(data_dir),
        check_disk(data_dir),
    ]


def report(findings: Sequence[Finding], echo: Callable[[str], None] = print) -> int:
    """Print the findings; 1 when any failed, else 0."""
    for finding in findings:
        echo(finding.line())
    failed = sum(f.status is Status.FAIL for f in findings)
    warned = sum(f.status is Status.WARN for f in findings)
    echo(f"\n{len(findings)} checks: {failed} failed, {warned} warnings")
    return 1 if failed else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    loaded = load_config(args.config, profile=args.profile)
    return report(run_checks(loaded))


def register(sub: Any) -> None:
    """Add ``doctor`` to the ``smartcart`` subcommands (``sub``: argparse's subparsers)."""
    p = sub.add_parser("doctor", help="check this machine and print what to fix")
    p.add_argument("--config", type=Path, help="TOML configuration file")
    p.add_argument("--profile", choices=("laptop", "cart"), help="override the profile")
    p.set_defaults(func=cmd_doctor)
