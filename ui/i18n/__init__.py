"""A tiny gettext-style catalogue: ``tr(key, **values)`` looks the key up in the language's JSON.

Every string the shopper or staff read is a key in ``en.json`` and in every other shipped
language (a test checks that the key sets and their ``{placeholders}`` agree). A key missing
from the chosen language falls back to English, then to the key itself, so a screen never
shows nothing. No Kivy here: view-models translate, screens only display.
"""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

FALLBACK: Final = "en"
NAME_KEY: Final = "_language_name"
"""Each catalogue names its language in that language (for the language buttons)."""

_FOLDER = Path(__file__).resolve().parent


@cache
def load_catalogues(folder: Path = _FOLDER) -> Mapping[str, Mapping[str, str]]:
    """Every ``<code>.json`` catalogue in ``folder``, by language code."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise ValueError(f"{path}: a catalogue maps string keys to strings")
        out[path.stem] = data
    if FALLBACK not in out:
        raise ValueError(f"{folder}: the {FALLBACK}.json catalogue is missing")
    return out


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a translation expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Translator:
    """Looks keys up in the current language; switchable at run time (the language buttons)."""

    def __init__(
        self,
        language: str = FALLBACK,
        catalogues: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Use ``language`` (falls back to English when not shipped)."""
        self._catalogues = catalogues if catalogues is not None else load_catalogues()
        self._language = FALLBACK
        self._missing: set[tuple[str, str]] = set()
        self.set_language(language)

    @property
    def language(self) -> str:
        """The current language code."""
        return self._language

    def set_language(self, language: str) -> None:
        """Switch language; an unknown code keeps English (and is logged)."""
        if language not in self._catalogues:
            log.warning("language %r is not shipped; using %s", language, FALLBACK)
            language = FALLBACK
        self._language = language

    def languages(self) -> list[tuple[str, str]]:
        """``(code, name in that language)`` of every shipped language, English first."""
        codes = sorted(self._catalogues, key=lambda c: (c != FALLBACK, c))
        return [(c, self._catalogues[c].get(NAME_KEY, c)) for c in codes]

    def __call__(self, key: str, **values: object) -> str:
        """The text of ``key`` in the current language, with ``values`` filled in."""
        text = self._catalogues[self._language].get(key)
        if text is None:
            if (self._language, key) not in self._missing:
                self._missing.add((self._language, key))
                log.warning("no %s text for %r", self._language, key)
            text = self._catalogues[FALLBACK].get(key, key)
        if not values:
            return text
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            # A broken translation must not break a screen: show the English one instead.
            log.exception("bad %s text for %r", self._language, key)
            return self._catalogues[FALLBACK].get(key, key).format(**values)
