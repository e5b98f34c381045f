"""Keyword matching sees through look-alike spellings (issue 9, item 6): compatibility forms, invisible characters,
case and whitespace are folded on both sides, for what callers send and for streamed answers alike."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import httpx
import pytest

from core.errors import ContentBlocked
from core.moderation import build_moderation, set_words
from core.moderation.folding import INVISIBLE, Folder, fold
from core.moderation.keywords import SLICE_CHARS, Automaton, KeywordProvider
from core.settings import Settings
from core.store.connection import Store

DISGUISED = [
    "forbidden\u200bword",  # ZERO WIDTH SPACE
    "for\u200dbid\u200cden\ufeff word",  # joiners, BOM
    "ｆｏｒｂｉｄｄｅｎ ｗｏｒｄ",  # fullwidth letters and space
    "FORBIDDEN WORD",
    "for\u00adbid\u00adden word",  # soft hyphens
    "forbidden\u2060\u202eword",  # word joiner, a bidi override
    "ⓕⓞⓡⓑⓘⓓⓓⓔⓝ ⓦⓞⓡⓓ",  # circled letters
    "forbidden \n\t  word",  # any run of whitespace
    "forbidden\u00a0word",  # no-break space
]


def test_every_format_character_is_invisible_to_matching() -> None:
    # Checked against this Python's Unicode database: a newer one adding a format character shows up here.
    format_chars = [chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Cf"]
    assert len(format_chars) > 150
    assert all(INVISIBLE.fullmatch(char) for char in format_chars)
    assert fold("a" + "".join(format_chars) + "b") == "ab"


@pytest.mark.parametrize("text", DISGUISED)
def test_disguised_spellings_fold_to_the_word(text: str) -> None:
    assert fold(text) in ("forbidden word", "forbiddenword")  # a listed "forbidden word" matches both


def test_folding_keeps_meaning_apart() -> None:
    assert fold("Straße") == fold("STRASSE")  # casefold, not lower
    assert fold("ﬁnd") == "find" and fold("Ａ１") == "a1" and fold("ｶﾀｶﾅ") == fold("カタカナ")
    assert fold("é") == fold("e\u0301") and fold("禁词") == "禁词"
    assert fold("forbid den") != fold("forbidden")  # a real space still separates


def test_folding_piece_by_piece_equals_folding_the_whole() -> None:
    rng = random.Random(9)
    text = "Ｆｏｒ\u200bbid den  \n naïve e\u0301 Straße ﬁ 禁\ufeff词 한국어 " * 20
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 30)))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        folder = Folder()
        assert "".join(folder.feed(piece) for piece in pieces) == fold(text)


async def test_the_keyword_provider_blocks_every_disguise(store: Store) -> None:
    await set_words(store, ["Forbidden Word", "违禁词"])
    provider = KeywordProvider(store, refresh_seconds=60)
    for text in [*DISGUISED, "违\u200b禁词", "ＡＢＣ违禁词"]:
        verdict = await provider.check(f"please say {text} now", "1")
        assert verdict.decision == "block", text


async def test_a_big_text_is_matched_in_slices_without_missing_a_word_at_a_cut() -> None:
    automaton = Automaton(["forbidden word"])
    for offset in (SLICE_CHARS - 9, SLICE_CHARS - 1, 3 * SLICE_CHARS - 5):
        text = "x" * offset + "ＦＯＲＢＩＤＤＥＮ\u200b ｗｏｒｄ" + "y" * SLICE_CHARS
        assert await automaton.search(text) == {"forbidden word"}
    assert await automaton.search("z" * (4 * SLICE_CHARS)) == set()


async def test_the_output_guard_stops_a_disguised_word_split_across_deltas(settings: Settings, store: Store) -> None:
    await set_words(store, ["forbidden word"])
    async with httpx.AsyncClient() as http:
        moderation = build_moderation(settings.model_copy(update={"TEXT_SECURITY": ["keywords"]}), store, http)
        for deltas in (["The ＦＯＲＢ", "\u200bIDDEN", "  \n", "wo", "\u00adrd!"], ["forbidden", " ", "\ufeff Word"]):
            guard, delivered = moderation.output_guard(user_id=1), []
            with pytest.raises(ContentBlocked):
                for delta in deltas:
                    await guard.feed(delta)
                    delivered.append(delta)
            assert delivered == deltas[:-1]  # stopped on the delta that completed the word


def test_ascii_folds_as_the_whitespace_expression_would_fold_it() -> None:
    """The ASCII shortcut (no substitution when the text has no run of spaces and no other whitespace) folds every
    ASCII text exactly as collapsing every whitespace run would."""
    rng = random.Random(11)
    alphabet = "aB1 .\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f~"
    for _ in range(3_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert fold(text) == re.sub(r"\s+", " ", text.lower()), repr(text)
