"""The keyword provider: the Aho–Corasick automaton, the word list in the store, and picking up its changes."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from core.errors import InvalidInput
from core.moderation import add_words, get_words, remove_words, set_words
from core.moderation.keywords import Automaton, KeywordProvider, KeywordStream
from core.store.connection import Store
from tests.conftest import command_calls, reset_command_stats


def naive(words: list[str], text: str) -> set[str]:
    return {word for word in words if word in text}


def test_automaton_finds_overlapping_and_nested_words() -> None:
    automaton = Automaton(["he", "she", "his", "hers", "敏感词", "敏感"])
    found, _ = automaton.scan("ushers and 这是敏感词汇")
    assert found == {"he", "she", "hers", "敏感", "敏感词"}
    assert automaton.scan("nothing here to see but h-e")[0] == {"he"}  # "here"
    assert automaton.scan("xyz")[0] == set()


def test_automaton_agrees_with_naive_search_on_random_texts() -> None:
    rng = random.Random(7)
    alphabet = "abcab敏感"
    for _ in range(200):
        words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(rng.randint(1, 12))]
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert Automaton(words).scan(text)[0] == naive(words, text), (words, text)


def test_long_text_is_scanned_in_one_pass() -> None:
    words = [f"badword{i:05d}" for i in range(5_000)] + ["违禁品"]
    automaton = Automaton(words)
    filler = "the quick brown fox jumps over the lazy dog 敏捷的狐狸 " * 20_000  # ~1 MB
    text = "BADWORD00042 " + filler + " 违禁品"
    started = time.perf_counter()
    found, _ = automaton.scan(text.lower())
    elapsed = time.perf_counter() - started
    assert found == {"badword00042", "违禁品"}
    assert elapsed < 5.0  # one pass, whatever the word count (typically ~0.2 s for 1 MB here)


def test_stream_finds_a_word_split_across_pieces() -> None:
    stream = KeywordStream(Automaton(["forbidden"]))
    assert stream.feed("this is FORB") == set()
    assert stream.feed("Id") == set()
    assert stream.feed("den!") == {"forbidden"}


async def test_word_list_crud_normalizes_and_validates(store: Store) -> None:
    assert await set_words(store, ["  Foo ", "foo", "", "Bar  Baz", "违禁"]) == ["bar baz", "foo", "违禁"]
    assert await add_words(store, ["NEW", "foo"]) == 1
    assert await remove_words(store, ["FOO", "missing"]) == 1
    assert await get_words(store) == ["bar baz", "new", "违禁"]
    with pytest.raises(InvalidInput):
        await add_words(store, ["x" * 101])
    assert await get_words(store) == ["bar baz", "new", "违禁"]  # nothing written on bad input
    assert await set_words(store, []) == []
    assert await get_words(store) == []


async def test_provider_is_case_insensitive(store: Store) -> None:
    await set_words(store, ["OpenSesame", "违禁"])
    provider = KeywordProvider(store, refresh_seconds=1.0)
    verdict = await provider.check("please say OPENsesame now", "7")
    assert (verdict.decision, verdict.label, verdict.words) == ("block", "keyword", ("opensesame",))
    assert (await provider.check("a harmless sentence", "7")).decision == "pass"
    assert (await provider.check("这是违禁内容", "7")).words == ("违禁",)


async def test_list_changes_are_picked_up_after_the_refresh_interval(store: Store) -> None:
    now = [100.0]
    provider = KeywordProvider(store, refresh_seconds=1.0, monotonic=lambda: now[0])
    await set_words(store, ["alpha"])
    first = await provider.automaton()
    assert (await provider.check("alpha beta", "1")).decision == "block"
    await set_words(store, ["beta"])
    now[0] += 0.5  # within the interval: no store round trip, the cached list is used
    assert (await provider.check("alpha beta", "1")).words == ("alpha",)
    now[0] += 0.6
    assert (await provider.check("alpha beta", "1")).words == ("beta",)
    assert await provider.automaton() is not first
    await add_words(store, ["gamma"])
    now[0] += 1.1
    assert (await provider.check("gamma", "1")).decision == "block"
    await remove_words(store, ["gamma"])
    now[0] += 1.1
    assert (await provider.check("gamma", "1")).decision == "pass"


async def test_unchanged_list_keeps_the_cached_automaton(store: Store) -> None:
    now = [0.0]
    provider = KeywordProvider(store, refresh_seconds=1.0, monotonic=lambda: now[0])
    await set_words(store, ["alpha"])
    first = await provider.automaton()
    now[0] += 5
    assert await provider.automaton() is first


async def test_a_direct_sadd_is_noticed_by_the_size_check(store: Store) -> None:
    now = [0.0]
    provider = KeywordProvider(store, refresh_seconds=1.0, monotonic=lambda: now[0])
    await set_words(store, ["alpha"])
    await provider.automaton()
    await store.redis.sadd(store.keys.moderation_words(), "delta")  # someone bypassed set_words
    now[0] += 2
    assert (await provider.check("delta", "1")).decision == "block"


async def test_calls_in_flight_when_the_interval_ends_check_the_list_once(store: Store) -> None:
    now = [0.0]
    provider = KeywordProvider(store, refresh_seconds=1.0, monotonic=lambda: now[0])
    await set_words(store, ["alpha"])
    first = await provider.automaton()
    await reset_command_stats(store)
    now[0] += 2
    found = await asyncio.gather(*(provider.automaton() for _ in range(20)))
    assert all(automaton is first for automaton in found)
    assert await command_calls(store, "get") == 1  # one stamp read (the words version), not one per call


def test_the_quick_expression_finds_what_the_automaton_finds_in_any_split() -> None:
    """A short list's regular-expression pre-check (and the tail it keeps between pieces) reports the same words at
    the same piece as the automaton alone, however the text is cut."""
    words = ["forbidden word", "bad", "abc", "bca", "另一个禁词", "x"]
    quick, plain = Automaton(words), Automaton(words)
    plain.quick = None
    assert quick.quick is not None
    alphabet = ["forbidden", " ", "word", "ba", "d", "a", "b", "c", "另一", "个禁词", "\u200b", "Ｘ", "y", "\n "]
    rng = random.Random(7)
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(0, 5)))) if len(text) > 1 else []
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        fast, slow = KeywordStream(quick), KeywordStream(plain)
        assert [fast.feed(p) for p in pieces] == [slow.feed(p) for p in pieces], pieces
