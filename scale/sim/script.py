"""Commands that drive the simulated basket, and timeline scripts made of them.

One command per line, the same words in a script and at the interactive prompt::

    put 250 g at front-left      put an item (g or kg; position by name or x,y in 0..1)
    take 250 g                   take out the latest item of that weight
    take item 1                  take out item 1 (ids count from 1 in the order items went in)
    push on | push off | push 2s the cart is pushed (for a while)
    lean 400 g 1.5s              a shopper presses the handle (duration defaults to 1.5 s)
    zero                         the scale's zero key
    unplug | replug              pull and reconnect the scale's cable (power cycle)
    status                       print what is in the basket and what the scale reads
    quit                         stop the simulator

A script puts ``at <seconds>`` in front of each command; times count from the simulator's start
and never go back. ``#`` starts a comment. :func:`parse_script` checks a whole script before it
runs, including that every ``take`` finds its item, and names the line of each mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from scale.sim.physics import CENTRE, Items, Position, parse_position

MAX_GRAMS = 1_000_000.0
MAX_SECONDS = 24 * 3600.0
DEFAULT_LEAN_S = 1.5


class ScriptError(ValueError):
    """A command or script that cannot be run; the message names the source and line."""

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.reason = message
        where = ":".join(part for part in (source, "" if line is None else str(line)) if part)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True, slots=True)
class Put:
    """Put an item of ``grams`` at ``position``."""

    grams: float
    position: Position = CENTRE


@dataclass(frozen=True, slots=True)
class Take:
    """Take out the latest item weighing ``grams``."""

    grams: float


@dataclass(frozen=True, slots=True)
class Remove:
    """Take out the item with id ``item_id``."""

    item_id: int


@dataclass(frozen=True, slots=True)
class Push:
    """Start (for ``duration_s``, or until ``Push(False)``) or stop pushing the cart."""

    on: bool
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class Lean:
    """A shopper presses on the handle with ``grams`` for ``duration_s``."""

    grams: float
    duration_s: float = DEFAULT_LEAN_S


@dataclass(frozen=True, slots=True)
class Zero:
    """The scale's zero key."""


@dataclass(frozen=True, slots=True)
class Unplug:
    """Pull the scale's cable: the port goes away."""


@dataclass(frozen=True, slots=True)
class Replug:
    """Plug the scale back in (it powers up again)."""


@dataclass(frozen=True, slots=True)
class Status:
    """Report the basket's contents and the scale's reading."""


@dataclass(frozen=True, slots=True)
class Quit:
    """Stop the simulator."""


Command = Put | Take | Remove | Push | Lean | Zero | Unplug | Replug | Status | Quit


@dataclass(frozen=True, slots=True)
class Event:
    """A command due ``at`` seconds after the start, from line ``line`` of its script."""

    at: float
    command: Command
    line: int


@dataclass(frozen=True, slots=True)
class Script:
    """A checked timeline, in time order."""

    events: tuple[Event, ...]
    source: str = "<script>"

    @property
    def duration_s(self) -> float:
        """Time of the last event (0 for an empty script)."""
        return self.events[-1].at if self.events else 0.0


_NUM = r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+"
_WEIGHT = rf"(?P<grams>{_NUM})\s*(?P<unit>kg|g)?"
_DURATION = rf"(?P<seconds>{_NUM})\s*(?P<time_unit>ms|s)"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("put", rf"put\s+{_WEIGHT}(?:\s+at\s+(?P<position>\S+))?"),
        ("take_item", r"(?:take\s+item|remove)\s+(?P<item>[0-9]+)"),
        ("take", rf"take\s+{_WEIGHT}"),
        ("push_switch", r"push\s+(?P<switch>on|off)"),
        ("push_for", rf"push\s+(?:for\s+)?{_DURATION}"),
        ("lean", rf"lean\s+{_WEIGHT}(?:\s+(?:for\s+)?{_DURATION})?"),
        ("zero", r"zero"),
        ("unplug", r"unplug"),
        ("replug", r"replug"),
        ("status", r"status"),
        ("quit", r"quit|exit"),
    )
)
_WORDS = "put, take, remove, push, lean, zero, unplug, replug, status, quit"
_USAGE = {
    "put": "put <grams> [g|kg] [at <position>]",
    "take": "take <grams> [g|kg]  or  take item <id>",
    "remove": "remove <id>",
    "push": "push on | push off | push <seconds>s",
    "lean": "lean <grams> [g|kg] [<seconds>s]",
}


def _grams(match: re.Match[str]) -> float:
    value = float(match["grams"]) * (1000.0 if (match["unit"] or "g").lower() == "kg" else 1.0)
    if not 0 < value <= MAX_GRAMS:
        raise ScriptError(f"a weight must be more than 0 g and at most {MAX_GRAMS:g} g")
    return value


def _seconds(match: re.Match[str]) -> float:
    value = float(match["seconds"]) / (1000.0 if match["time_unit"].lower() == "ms" else 1.0)
    if not 0 < value <= MAX_SECONDS:
        raise ScriptError(f"a duration must be more than 0 s and at most {MAX_SECONDS:g} s")
    return value


def parse_command(text: str) -> Command:
    """Parse one command (no ``at``); :class:`ScriptError` says what is wrong."""
    words = text.strip()
    for name, pattern in _PATTERNS:
        match = pattern.fullmatch(words)
        if match is None:
            continue
        if name == "put":
            position = CENTRE
            if match["position"]:
                try:
                    position = parse_position(match["position"])
                except ValueError as exc:
                    raise ScriptError(str(exc)) from None
            return Put(_grams(match), position)
        if name == "take_item":
            return Remove(int(match["item"]))
        if name == "take":
            return Take(_grams(match))
        if name == "push_switch":
            return Push(match["switch"].lower() == "on")
        if name == "push_for":
            return Push(True, _seconds(match))
        if name == "lean":
            duration = _seconds(match) if match["seconds"] else DEFAULT_LEAN_S
            return Lean(_grams(match), duration)
        simple: dict[str, Command] = {
            "zero": Zero(),
            "unplug": Unplug(),
            "replug": Replug(),
            "status": Status(),
            "quit": Quit(),
        }
        return simple[name]
    verb = words.split(maxsplit=1)[0].lower() if words else ""
    if verb in _USAGE:
        raise ScriptError(f"cannot read {words!r}; expected: {_USAGE[verb]}")
    raise ScriptError(f"unknown command {words!r} (commands: {_WORDS})")


_AT = re.compile(rf"at\s+(?P<at>{_NUM})\s*s?\s+(?P<command>.+)", re.IGNORECASE)


def parse_script(text: str, source: str = "<script>") -> Script:
    """Parse and check a timeline; every :class:`ScriptError` names ``source`` and the line.

    Checks, beyond syntax: times never go back, and every ``take`` finds its item at that
    point of the timeline (a dry run of the basket's contents).
    """
    events: list[Event] = []
    last_at = 0.0
    items = Items()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _AT.fullmatch(line)
        if match is None:
            raise ScriptError(
                f"expected 'at <seconds> <command>', got {line!r}", source=source, line=number
            )
        at = float(match["at"])
        if at > MAX_SECONDS:
            raise ScriptError(f"time {at:g} s is too far out", source=source, line=number)
        if at < last_at:
            raise ScriptError(
                f"time {at:g} s is before the previous event's {last_at:g} s",
                source=source,
                line=number,
            )
        try:
            command = parse_command(match["command"])
            _dry_run(items, command)
        except ScriptError as exc:
            raise ScriptError(exc.reason, source=source, line=number) from None
        events.append(Event(at, command, number))
        last_at = at
    return Script(tuple(events), source)


def load_script(path: Path) -> Script:
    """Read and parse a script file (``OSError`` when it cannot be read)."""
    return parse_script(path.read_text(encoding="utf-8"), source=str(path))


def _dry_run(items: Items, command: Command) -> None:
    try:
        if isinstance(command, Put):
            items.put(command.grams, command.position)
        elif isinstance(command, Take):
            items.take(command.grams)
        elif isinstance(command, Remove):
            items.remove(command.item_id)
    except ValueError as exc:
        raise ScriptError(str(exc)) from None
