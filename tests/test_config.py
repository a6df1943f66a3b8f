"""Configuration: validation errors name the key path and the file line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart_app.config import ConfigError, load_config, load_config_text
from cart_app.config.docgen import render_config_doc
from cart_app.config.toml_lines import key_lines

REPO = Path(__file__).resolve().parent.parent


def problems_of(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigError) as info:
        load_config_text(text, source="cart.toml")
    return [(p.key_path, p.line, p.message) for p in info.value.problems]


@pytest.mark.parametrize(
    ("text", "key_path", "line", "needle"),
    [
        ("[scale]\nsetle_time_s = 0.5\n", "scale.setle_time_s", 2, "did you mean 'settle_time_s'"),
        ("cart_id = 'a'\n\n[scale]\nbaudrate = '9600'\n", "scale.baudrate", 4, "valid integer"),
        ("[pricing]\nweight_increment_g = 2.5\n", "pricing.weight_increment_g", 2, "integer"),
        ("[scale]\nsettle_time_s = -1\n", "scale.settle_time_s", 2, "greater than 0"),
        ("[store]\nmode = 'cloud'\n", "store.mode", 2, "'embedded' or 'http'"),
        (
            "[[cameras]]\nid = 'a'\nsource = 'synthetic'\nreconnect_backoff_max_s = 0.1\n",
            "cameras[0].reconnect_backoff_max_s",
            4,
            "greater than or equal to 0.25",
        ),
        ("bogus = 1\n", "bogus", 1, "unknown key"),
        (
            "[fusion]\n# comment\n\nprompt_timeout_s = true\n",
            "fusion.prompt_timeout_s",
            4,
            "number",
        ),
        (
            "[[cameras]]\nid = 'a'\nsource = 'synthetic'\n\n[[cameras]]\nid = 'b'\nfps = 'x'\n",
            "cameras[1].source",
            5,
            "Field required",
        ),
        (
            "[[cameras]]\nid = 'a'\nsource = 'synthetic'\nroi = [0, 0, 1]\n",
            "cameras[0].roi[3]",
            4,
            "Field required",
        ),
        ("scale.baudrate = 'fast'\n", "scale.baudrate", 1, "valid integer"),
        ("[ui]\nlanguage = 2026-01-01\n", "ui.language", 2, "valid string"),
    ],
)
def test_errors_name_key_path_and_line(text: str, key_path: str, line: int, needle: str) -> None:
    found = problems_of(text)
    matching = [p for p in found if p[0] == key_path]
    assert matching, f"no problem for {key_path} in {found}"
    assert matching[0][1] == line
    assert needle in matching[0][2]


def test_every_problem_is_reported_at_once() -> None:
    found = problems_of("[scale]\nbaudrate = 'x'\nsettle_time_s = 'y'\nfoo = 1\n")
    assert {p[0] for p in found} == {"scale.baudrate", "scale.settle_time_s", "scale.foo"}


def test_message_format_has_file_line_and_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text("[scale]\nbaudrate = 'x'\n", source="my.toml")
    assert str(info.value).startswith("my.toml:2: scale.baudrate: ")


def test_toml_syntax_error_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config_text("[scale\nbaudrate = 1\n", source="x.toml")


def test_unknown_profile() -> None:
    found = problems_of("profile = 'boat'\n")
    assert found[0][:2] == ("profile", 1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


def test_laptop_and_cart_profiles_differ() -> None:
    laptop = load_config(None, profile="laptop").config
    cart = load_config(None, profile="cart").config
    assert laptop.scale.driver == "simulator"
    assert cart.scale.driver == "serial"
    assert [c.id for c in cart.cameras] == ["left", "right"]
    # The laptop talks to the reference store on loopback (offline-first when it is down).
    assert laptop.store.base_url.startswith("http://127.0.0.1")
    assert cart.store.base_url.startswith("https://")


def test_file_overrides_profile_and_replaces_arrays(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "profile = 'cart'\n[scale]\nsettle_time_s = 0.8\n"
        "[[cameras]]\nid = 'only'\nsource = 'synthetic'\n"
    )
    cfg = load_config(path).config
    assert cfg.scale.settle_time_s == 0.8
    assert cfg.scale.driver == "serial"  # from the cart profile
    assert [c.id for c in cfg.cameras] == ["only"]


def test_relative_paths_resolve_against_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "c.toml"
    path.write_text("[paths]\ndata_dir = 'state'\n")
    loaded = load_config(path)
    assert loaded.resolve(loaded.config.paths.data_dir) == (tmp_path / "sub" / "state").resolve()


def test_shipped_example_configs_are_valid() -> None:
    examples = sorted((REPO / "docs" / "examples").glob("*.toml"))
    assert examples, "docs/examples holds example configurations"
    for example in examples:
        load_config(example)


def test_key_lines_handles_multiline_values() -> None:
    text = 'a = """\n[not.a.table]\nx = 1\n"""\n[real]\nb = [\n  1,\n  2,\n]\nc = 3\n'
    lines = key_lines(text)
    assert lines[("a",)] == 1
    assert ("not", "a", "table") not in lines
    assert lines[("real", "c")] == 10


def test_configuration_doc_is_current() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert doc == render_config_doc(), "run: smartcart config-doc --output docs/configuration.md"


def test_variable_measure_layouts_validate_and_build_the_scheme() -> None:
    from cart_app.app import scheme_from_config
    from cart_app.variable_measure import DEFAULT_SCHEME

    assert scheme_from_config(load_config_text("")) == DEFAULT_SCHEME
    found = problems_of(
        "[[variable_measure.layouts]]\nprefixes = ['21']\nitem_digits = 6\n"
        "\n[[variable_measure.layouts]]\nprefixes = ['13']\n"
    )
    assert found[0][:2] == ("variable_measure.layouts[0]", 1)
    assert "10 digits" in found[0][2]
    assert found[1][:2] == ("variable_measure.layouts[1].prefixes[0]", 6)
    twice = problems_of(
        "[[variable_measure.layouts]]\nprefixes = ['21']\n"
        "[[variable_measure.layouts]]\nprefixes = ['21']\n"
    )
    assert "appear in two layouts" in twice[0][2]
    custom = load_config_text(
        "[[variable_measure.layouts]]\nprefixes = ['23']\nvalue_kind = 'price_cents'\n"
    )
    scheme = scheme_from_config(custom)
    assert scheme.all_prefixes == frozenset({"23"}) and scheme.value_kind == "price_cents"
