"""Load and validate the cart's TOML configuration, naming the key path and line of each error.

A file is layered over its profile's defaults (``laptop`` or ``cart``, shipped in
``cart_app/data/profiles``). Values are validated as JSON-like data in strict mode, so TOML
arrays fill tuples but a quoted number is never coerced.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cart_app.config.schema import CartConfig
from cart_app.config.toml_lines import PathPart, key_lines, line_of

PROFILES = ("laptop", "cart")


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration file."""

    key_path: str
    line: int | None
    message: str


class ConfigError(Exception):
    """A configuration that cannot be used; ``problems`` lists every error found."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one per line, as ``file:line: key.path: message``."""
        out = []
        for p in self.problems:
            where = f"{self.source}:{p.line}" if p.line is not None else self.source
            key = f" {p.key_path}:" if p.key_path else ""
            out.append(f"{where}:{key} {p.message}")
        return "\n".join(out)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A validated configuration and where relative paths in it are anchored."""

    config: CartConfig
    source: Path | None
    base_dir: Path

    def resolve(self, value: str) -> Path:
        """Turn a path setting into an absolute path, relative to the config file's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()


def profile_text(profile: str) -> str:
    """The TOML defaults of a built-in profile."""
    if profile not in PROFILES:
        raise ConfigError("<profile>", [ConfigProblem("profile", None, f"unknown {profile!r}")])
    ref = resources.files("cart_app").joinpath("data", "profiles", f"{profile}.toml")
    return ref.read_text(encoding="utf-8")


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [ConfigProblem("", None, f"not valid TOML: {exc}")]) from exc


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _fields_at(path: tuple[PathPart, ...]) -> list[str]:
    """Field names valid at ``path`` (for 'did you mean' hints)."""
    model: type[BaseModel] | None = CartConfig
    for part in path:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    return list(model.model_fields) if model is not None else []


def _problems(exc: ValidationError, lines: dict[tuple[PathPart, ...], int]) -> list[ConfigProblem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
        if err["type"] == "extra_forbidden":
            known = _fields_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown key{hint}"
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict) else f" (got {json.dumps(got)})"
            message = f"{err['msg']}{shown}"
        problems.append(ConfigProblem(path, line_of(lines, loc), message))
    return problems


def load_config_text(
    text: str, *, source: str = "<config>", profile: str | None = None, base_dir: Path | None = None
) -> LoadedConfig:
    """Validate configuration text layered over its profile; raise :class:`ConfigError`."""
    user = _parse(text, source)
    chosen = profile or user.get("profile") or "laptop"
    if chosen not in PROFILES:
        line = key_lines(text).get(("profile",))
        raise ConfigError(
            source, [ConfigProblem("profile", line, f"unknown profile {chosen!r}; use {PROFILES}")]
        )
    defaults = _parse(profile_text(str(chosen)), f"profile {chosen}")
    merged = _merge(defaults, user)
    merged["profile"] = chosen
    try:
        # Through JSON so that strict mode accepts TOML arrays for tuples. No setting is a date,
        # so TOML dates become a tagged object that fails validation with a clear message.
        config = CartConfig.model_validate_json(
            json.dumps(merged, default=lambda v: {"toml date/time": str(v)})
        )
    except ValidationError as exc:
        raise ConfigError(source, _problems(exc, key_lines(text))) from exc
    return LoadedConfig(config=config, source=None, base_dir=base_dir or Path.cwd())


def load_config(path: Path | None, *, profile: str | None = None) -> LoadedConfig:
    """Load ``path`` (or only the profile's defaults when ``None``) and validate it."""
    if path is None:
        loaded = load_config_text("", source=f"profile {profile or 'laptop'}", profile=profile)
        return loaded
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(path), [ConfigProblem("", None, "file not found")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [ConfigProblem("", None, f"cannot read: {exc}")]) from exc
    loaded = load_config_text(
        text, source=str(path), profile=profile, base_dir=path.resolve().parent
    )
    return LoadedConfig(config=loaded.config, source=path, base_dir=loaded.base_dir)
