"""Configuration: one TOML file, validated at start-up, layered over a profile."""

from cart_app.config.loader import (
    PROFILES,
    ConfigError,
    ConfigProblem,
    LoadedConfig,
    load_config,
    load_config_text,
)
from cart_app.config.schema import CartConfig

__all__ = [
    "PROFILES",
    "CartConfig",
    "ConfigError",
    "ConfigProblem",
    "LoadedConfig",
    "load_config",
    "load_config_text",
]
