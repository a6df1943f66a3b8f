"""Find the line of a key path in TOML text, so config errors can point at the file line.

``tomllib`` parses to plain dicts and forgets positions, and no maintained TOML library exposes
them, so this scans the text the way the TOML grammar nests keys: table headers, array-of-table
headers and (dotted) key assignments. Multi-line strings and arrays are skipped over. It is only
used to decorate error messages: when a path cannot be found it returns ``None`` and the message
still names the key path.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[(\[)?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")

PathPart = str | int


def _split_dotted(key: str) -> list[str]:
    parts: list[str] = []
    for raw in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', key):
        parts.append(raw.strip().strip("\"'"))
    return parts


def key_lines(text: str) -> dict[tuple[PathPart, ...], int]:
    """Map every key path that the text assigns or opens as a table to its 1-based line."""
    lines: dict[tuple[PathPart, ...], int] = {}
    aot_counts: dict[tuple[PathPart, ...], int] = {}
    table: tuple[PathPart, ...] = ()
    in_multiline: str | None = None
    bracket_depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if bracket_depth > 0:
            bracket_depth += line.count("[") - line.count("]")
            continue
        header = _HEADER.match(line)
        if header:
            names = tuple(_split_dotted(header.group(2)))
            if header.group(1):
                index = aot_counts.get(names, 0)
                aot_counts[names] = index + 1
                table = (*names, index)
            else:
                table = names
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            path = (*table, *_split_dotted(assign.group(1)))
            lines.setdefault(path, number)
            value = line[assign.end() :]
            for quote in ('"""', "'''"):
                if value.count(quote) % 2 == 1:
                    in_multiline = quote
            stripped = value.split("#", 1)[0]
            if stripped.strip().startswith("["):
                bracket_depth = stripped.count("[") - stripped.count("]")
    return lines


def line_of(lines: dict[tuple[PathPart, ...], int], path: tuple[PathPart, ...]) -> int | None:
    """The line of ``path`` or, failing that, of its nearest enclosing key or table."""
    for end in range(len(path), 0, -1):
        found = lines.get(path[:end])
        if found is not None:
            return found
    return None
