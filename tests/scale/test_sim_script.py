"""Simulator commands and timeline scripts: good scripts parse, bad ones name their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scale.sim.physics import CENTRE, POSITIONS, Position
from scale.sim.script import (
    DEFAULT_LEAN_S,
    Event,
    Lean,
    Push,
    Put,
    Quit,
    Remove,
    Replug,
    ScriptError,
    Status,
    Take,
    Unplug,
    Zero,
    load_script,
    parse_command,
    parse_script,
)

GOOD = """\
# A shopper's first minute.
at 1.0 put 250 g at front-left
at 1.0 put 1.2kg                 # two items at once; the second lies in the centre
at 3.0 push 2.0s
at 5.0 lean 400 g 1.5s
at 7 take 1200 g
at 8.0 take item 1
at 9.5s put 80 at 0.25,0.75
at 10 zero
at 11 unplug
at 12 replug
at 13 quit
"""


def test_a_good_script() -> None:
    script = parse_script(GOOD, source="trip.txt")
    assert script.source == "trip.txt"
    assert script.events == (
        Event(1.0, Put(250.0, POSITIONS["front-left"]), 2),
        Event(1.0, Put(1200.0, CENTRE), 3),
        Event(3.0, Push(True, 2.0), 4),
        Event(5.0, Lean(400.0, 1.5), 5),
        Event(7.0, Take(1200.0), 6),
        Event(8.0, Remove(1), 7),
        Event(9.5, Put(80.0, Position(0.25, 0.75)), 8),
        Event(10.0, Zero(), 9),
        Event(11.0, Unplug(), 10),
        Event(12.0, Replug(), 11),
        Event(13.0, Quit(), 12),
    )
    assert script.duration_s == 13.0
    assert parse_script("").events == ()


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("put 500", Put(500.0)),
        ("PUT 0.5 kg at Rear-Right", Put(500.0, POSITIONS["rear-right"])),
        ("take 500", Take(500.0)),
        ("take item 3", Remove(3)),
        ("remove 3", Remove(3)),
        ("push on", Push(True)),
        ("push off", Push(False)),
        ("push 1500ms", Push(True, 1.5)),
        ("push for 2 s", Push(True, 2.0)),
        ("lean 300", Lean(300.0, DEFAULT_LEAN_S)),
        ("lean 300 g for 2s", Lean(300.0, 2.0)),
        ("  zero ", Zero()),
        ("status", Status()),
        ("exit", Quit()),
    ],
)
def test_commands(text: str, command: object) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jump 3", "unknown command 'jump 3'"),
        ("put", "expected: put <grams>"),
        ("put -5", "expected: put <grams>"),
        ("put 0 g", "more than 0 g"),
        ("put 5 lb", "expected: put <grams>"),
        ("put 5 at nowhere", "unknown position 'nowhere'"),
        ("lean 300 forever", "expected: lean <grams>"),
        ("push 0s", "more than 0 s"),
        ("push maybe", "expected: push on"),
        ("", "unknown command"),
    ],
)
def test_bad_commands(text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        parse_command(text)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("at 1 put 100\nput 200\n", 2, "expected 'at <seconds> <command>'"),
        ("at 1 put 100\n\n# note\nat x put 1\n", 4, "expected 'at <seconds> <command>'"),
        ("at 2 put 100\nat 1 put 200\n", 2, "before the previous event's 2 s"),
        ("at 1 put 100\nat 2 take item 2\n", 2, "no item 2 in the basket"),
        ("at 1 put 100\nat 2 take 100\nat 3 take 100\n", 3, "no item of 100 g"),
        ("at 1 put 100\nat 2 fly\n", 2, "unknown command 'fly'"),
        ("at 1 lean 100 g -2s\n", 1, "expected: lean"),
        ("at 99999999 quit\n", 1, "too far out"),
    ],
)
def test_bad_scripts_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError, match=message) as caught:
        parse_script(text, source="bad.txt")
    assert caught.value.line == line
    assert caught.value.source == "bad.txt"
    assert str(caught.value).startswith(f"bad.txt:{line}: ")


def test_load_script(tmp_path: Path) -> None:
    path = tmp_path / "trip.txt"
    path.write_text("at 0.5 put 100\n", encoding="utf-8")
    assert load_script(path).events == (Event(0.5, Put(100.0), 1),)
    path.write_text("at 0.5 put 100\nat 0.1 put 5\n", encoding="utf-8")
    with pytest.raises(ScriptError, match=f"^{path}:2: "):
        load_script(path)
    with pytest.raises(OSError):
        load_script(tmp_path / "missing.txt")
