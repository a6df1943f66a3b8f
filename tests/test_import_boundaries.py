"""The architecture's one direction of imports, checked in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_modules(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=120
    )
    return set(out.stdout.split())


def test_core_never_loads_kivy() -> None:
    modules = loaded_modules(
        "import cart_app, vision, scale\n"
        "import pkgutil, importlib\n"
        "for pkg in (cart_app, vision, scale):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "from cart_app.cli import main\n"
    )
    assert "cart_app.engine" in modules  # the walk really imported the core
    assert not {m for m in modules if m == "kivy" or m.startswith("kivy.")}
    assert not {m for m in modules if m == "ui" or m.startswith("ui.")}


@pytest.mark.parametrize("leaf", ["vision", "scale"])
def test_leaves_do_not_import_the_core(leaf: str) -> None:
    modules = loaded_modules(
        f"import pkgutil, importlib, {leaf}\n"
        f"for m in pkgutil.walk_packages({leaf}.__path__, '{leaf}.'):\n"
        "    importlib.import_module(m.name)\n"
    )
    assert f"{leaf}.types" in modules
    assert not {m for m in modules if m == "cart_app" or m.startswith("cart_app.")}
