"""Chunking and verdict merging shared by the remote providers."""

from __future__ import annotations

import random

import pytest

from core.moderation.verdicts import ProviderError, Verdict, excerpt, merge_chunks, split_chars, split_utf8


def covers(text: str, pieces: list[str]) -> bool:
    """True when the pieces, in order and overlapping, reproduce the text with no gap."""
    position = 0
    for piece in pieces:
        start = text.find(piece, max(position - len(piece), 0))
        if start < 0 or start > position:
            return False
        position = start + len(piece)
    return position == len(text)


@pytest.mark.parametrize("length", [0, 1, 99, 100, 101, 250, 1_000])
def test_split_chars_limits_and_covers(length: int) -> None:
    text = "".join(chr(0x4E00 + i) for i in range(length))
    pieces = split_chars(text, 100, 10)
    assert all(len(piece) <= 100 for piece in pieces)
    assert covers(text, pieces)


def test_split_utf8_never_cuts_a_character() -> None:
    rng = random.Random(3)
    alphabet = ["a", "é", "中", "😀"]  # 1, 2, 3 and 4 bytes
    for _ in range(100):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        pieces = split_utf8(text, 50, 7)
        assert all(len(piece.encode()) <= 50 for piece in pieces)
        assert "".join(pieces) == text or covers(text, pieces)


def test_a_block_in_one_chunk_beats_a_failed_chunk() -> None:
    failure = ProviderError("tencent", "HTTP 500")
    block = Verdict("block", "tencent", "Illegal", ("x",))
    assert merge_chunks([failure, block, Verdict("pass", "tencent")], "tencent") == block
    with pytest.raises(ProviderError):
        merge_chunks([Verdict("review", "tencent"), failure], "tencent")
    merged = merge_chunks([Verdict("review", "t", "Ad", ("a",)), Verdict("review", "t", "Ad", ("b",))], "t")
    assert (merged.decision, merged.words) == ("review", ("a", "b"))


def test_excerpt_is_short_and_centered_on_the_word() -> None:
    text = "x " * 500 + "NeedLe" + " y" * 500
    piece = excerpt(text, ("needle",))
    assert "NeedLe" in piece and len(piece) <= 161
    assert excerpt("short   text\nhere") == "short text here"
