"""Both themes keep readable contrast for every text/background pair used on screen."""

from __future__ import annotations

import pytest

from ui.theme import HIGH_CONTRAST, NORMAL, TEXT_PAIRS, Theme, contrast


@pytest.mark.parametrize(("theme", "minimum"), [(NORMAL, 4.5), (HIGH_CONTRAST, 7.0)])
@pytest.mark.parametrize(("text", "background"), TEXT_PAIRS)
def test_contrast(theme: Theme, minimum: float, text: str, background: str) -> None:
    colours = theme.as_dict()
    assert contrast(colours[text], colours[background]) >= minimum


def test_contrast_extremes() -> None:
    assert contrast((0, 0, 0, 1), (1, 1, 1, 1)) == pytest.approx(21.0)
    assert contrast((0.5, 0.5, 0.5, 1), (0.5, 0.5, 0.5, 1)) == pytest.approx(1.0)
