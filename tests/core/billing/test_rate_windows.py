import pytest

from core.billing.rate_windows import normalize_window, parse_window
from core.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45s", 45), ("30m", 1800), ("3h", 10_800), ("1d", 86_400), ("2w", 1_209_600), ("3 h", 10_800), ("3H", 10_800)],
)
def test_parses_units(text: str, seconds: int) -> None:
    assert parse_window(text) == seconds


@pytest.mark.parametrize("text", ["", "3", "h", "0h", "-3h", "3.5h", "3x", "3hh", "h3", "3  h", "1e3s", "53w", 3, None])
def test_rejects_garbage(text: object) -> None:
    with pytest.raises(InvalidInput):
        parse_window(text)


def test_normalizes_spelling() -> None:
    assert normalize_window(" 3 H") == "3h"
