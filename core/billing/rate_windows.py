"""Rate-limit window strings: "45s", "30m", "3h", "1d", "2w" (the original's shape; "3 h" is accepted too)."""

from __future__ import annotations

import re

from core.errors import InvalidInput

UNIT_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
MAX_WINDOW_SECONDS = 366 * 86_400  # a window longer than a year is a typo, not a plan
_WINDOW = re.compile(r"([1-9][0-9]{0,6}) ?([smhdw])")


def parse_window(text: object) -> int:
    """Return the window length in seconds, or raise InvalidInput for anything that is not `<n><unit>`."""
    if not isinstance(text, str):
        raise InvalidInput("A window must be a string such as '3h'.", field="window")
    match = _WINDOW.fullmatch(text.strip().lower())
    if match is None:
        raise InvalidInput(
            f"Window {text!r} is not valid; use a number and a unit s, m, h, d or w, such as '3h'.",
            field="window",
        )
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds > MAX_WINDOW_SECONDS:
        raise InvalidInput(f"Window {text!r} is longer than a year.", field="window")
    return seconds


def normalize_window(text: object) -> str:
    """Return the canonical spelling of a valid window ("3 H" -> "3h"), so exports round-trip unchanged."""
    parse_window(text)
    assert isinstance(text, str)
    return text.strip().lower().replace(" ", "")
