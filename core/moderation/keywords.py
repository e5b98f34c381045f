"""The keyword provider: a word list kept in the store, matched with an Aho–Corasick automaton.

The list lives in the `mod:words` set; every change through these functions INCRs `mod:words:ver` in the same
MULTI, so each process rebuilds its cached automaton when the version (or the set's size) moves. The check is a
GET + SCARD at most once per MODERATION_WORDS_REFRESH_SECONDS; matching a text is one pass over its characters,
whatever the number of words. Both sides are folded first (core.moderation.folding: compatibility forms, invisible
characters, case, whitespace), so `forbidden\u200bword` or fullwidth letters match the listed word. A big text is
matched in slices with a yield to the event loop between them, so one caller's megabyte does not hold up the others.
A short list (up to QUICK_SPELLINGS spellings, the usual case) is also compiled into one regular expression that
tells in C whether a text holds any word at all; only a text that does is walked through the automaton.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable

from core.errors import InvalidInput
from core.moderation.folding import Folder, clean_word, fold
from core.moderation.verdicts import ProviderError, Verdict
from core.store.connection import Store

log = logging.getLogger(__name__)

NAME = "keywords"
MAX_WORD_CHARS = 100
MAX_WORDS = 100_000
MAX_REPORTED_WORDS = 20
SLICE_CHARS = 32_768  # a big text is matched this many characters at a time (~2 ms), yielding in between
QUICK_SPELLINGS = 64  # up to this many spellings, a regular expression says first whether any word is there


class Automaton:
    """Aho–Corasick over folded words: goto tries, failure links, outputs merged along the links."""

    def __init__(self, words: Iterable[str]) -> None:
        self.goto: list[dict[str, int]] = [{}]
        self.fail: list[int] = [0]
        self.out: list[tuple[str, ...]] = [()]
        self.words = sorted({w for w in (fold(normalize_word(word)) for word in words) if w})
        spellings = set(self.words)
        for word in self.words:
            self._insert(word, word)
            if " " in word:  # "forbidden word" also as written with an invisible or no space in between
                self._insert(word.replace(" ", ""), word)
                spellings.add(word.replace(" ", ""))
        self._link()
        self.longest = max(map(len, spellings), default=0)
        self.quick: re.Pattern[str] | None = None  # any spelling at all (None: the list is empty or long)
        if 0 < len(spellings) <= QUICK_SPELLINGS:
            self.quick = re.compile("|".join(map(re.escape, sorted(spellings, key=len, reverse=True))))

    def _insert(self, spelling: str, word: str) -> None:
        state = 0
        for char in spelling:
            nxt = self.goto[state].get(char)
            if nxt is None:
                nxt = len(self.goto)
                self.goto[state][char] = nxt
                self.goto.append({})
                self.fail.append(0)
                self.out.append(())
            state = nxt
        if word not in self.out[state]:
            self.out[state] = (*self.out[state], word)

    def _link(self) -> None:
        # Breadth-first, so a state's failure target (shallower) is final before the state is reached.
        queue = deque(self.goto[0].values())
        while queue:
            state = queue.popleft()
            for char, child in self.goto[state].items():
                queue.append(child)
                target = self.fail[state]
                while target and char not in self.goto[target]:
                    target = self.fail[target]
                fallback = self.goto[target].get(char, 0)
                self.fail[child] = fallback if fallback != child else 0
                self.out[child] = self.out[child] + self.out[self.fail[child]]

    def scan(self, text: str, state: int = 0) -> tuple[set[str], int]:
        """Return the words found in a folded text and the state to resume from on the next piece."""
        goto, fail, out = self.goto, self.fail, self.out
        found: set[str] = set()
        for char in text:
            while state and char not in goto[state]:
                state = fail[state]
            state = goto[state].get(char, 0)
            if out[state]:
                found.update(out[state])
        return found, state

    async def search(self, text: str) -> set[str]:
        """Return the words found in a text (folded here), in slices so a big text does not hold the event loop."""
        if len(text) <= SLICE_CHARS:
            folded = fold(text)
            if not self.words or (self.quick is not None and self.quick.search(folded) is None):
                return set()
            return self.scan(folded)[0]
        stream, found = KeywordStream(self), set()
        for start in range(0, len(text), SLICE_CHARS):
            if start:
                await asyncio.sleep(0)
            found |= stream.feed(text[start : start + SLICE_CHARS])
        return found


class KeywordStream:
    """Match a text that arrives in pieces: folding and the automaton state carry over, so split words are found.

    With a short list, the folded text's last `longest - 1` characters are kept instead of the state: a piece is
    looked for together with them (a word split across pieces is whole there), and only when the expression finds
    something is the automaton run, over those characters (to reach the state the whole text would have left it
    in: its longest suffix that begins a word fits in them) and then over the piece.
    """

    def __init__(self, automaton: Automaton) -> None:
        self._automaton = automaton
        self._state = 0
        self._folder = Folder()
        self._tail = ""

    def feed(self, piece: str) -> set[str]:
        automaton, folded = self._automaton, self._folder.feed(piece)
        quick = automaton.quick
        if quick is None:
            found, self._state = automaton.scan(folded, self._state)
            return found
        tail, keep = self._tail, automaton.longest - 1
        window = tail + folded if tail else folded
        self._tail = window[-keep:] if keep else ""
        if quick.search(window) is None:
            return set()
        _, state = automaton.scan(tail)
        return automaton.scan(folded, state)[0]


def normalize_word(word: str) -> str:
    """Return a word as the list stores it (core.moderation.folding.clean_word)."""
    return clean_word(word)


def _clean(words: Iterable[str]) -> list[str]:
    cleaned = {normalize_word(word) for word in words} - {""}
    too_long = [word for word in cleaned if len(word) > MAX_WORD_CHARS]
    if too_long:
        raise InvalidInput(f"A keyword is longer than {MAX_WORD_CHARS} characters.", word=too_long[0][:40])
    if len(cleaned) > MAX_WORDS:
        raise InvalidInput(f"The keyword list is limited to {MAX_WORDS} words.")
    return sorted(cleaned)


async def get_words(store: Store) -> list[str]:
    """Return the keyword list, sorted."""
    members: set[str] = await store.redis.smembers(store.keys.moderation_words())  # type: ignore[assignment]
    return sorted(members)


async def set_words(store: Store, words: Iterable[str]) -> list[str]:
    """Replace the keyword list (blank entries dropped, case folded, deduplicated); return it."""
    cleaned = _clean(words)
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.delete(store.keys.moderation_words())
        if cleaned:
            pipe.sadd(store.keys.moderation_words(), *cleaned)
        pipe.incr(store.keys.moderation_words_version())
        await pipe.execute()
    return cleaned


async def add_words(store: Store, words: Iterable[str]) -> int:
    """Add words to the list; return how many were new."""
    cleaned = _clean(words)
    if not cleaned:
        return 0
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.sadd(store.keys.moderation_words(), *cleaned)
        pipe.incr(store.keys.moderation_words_version())
        added, _ = await pipe.execute()
    return int(added)


async def remove_words(store: Store, words: Iterable[str]) -> int:
    """Remove words from the list; return how many were there."""
    cleaned = {normalize_word(word) for word in words} - {""}
    if not cleaned:
        return 0
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.srem(store.keys.moderation_words(), *cleaned)
        pipe.incr(store.keys.moderation_words_version())
        removed, _ = await pipe.execute()
    return int(removed)


class KeywordProvider:
    """The `keywords` provider: the process-cached automaton of the store's word list."""

    name = NAME

    def __init__(self, store: Store, refresh_seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._automaton: Automaton | None = None
        self._stamp: tuple[str, int] | None = None
        self._checked_at = float("-inf")
        self._refreshing = False

    async def automaton(self) -> Automaton:
        """Return the automaton of the current list, rebuilding it when the list changed."""
        now = self._monotonic()
        if self._automaton is not None and (now - self._checked_at < self._refresh_seconds or self._refreshing):
            return self._automaton  # fresh, or another call is checking it: the calls in flight do not all ask
        self._refreshing = True
        try:
            await self._refresh()
        except Exception as exc:  # the store hiccuped: a slightly stale list beats no list
            if self._automaton is None:
                raise ProviderError(NAME, f"word list unavailable ({type(exc).__name__})") from exc
            log.warning("keyword list refresh failed, using the cached list: %s", type(exc).__name__)
        finally:
            self._refreshing = False
        self._checked_at = now
        assert self._automaton is not None
        return self._automaton

    async def _stamp_now(self) -> tuple[str, int]:
        keys = self._store.keys
        async with self._store.redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.moderation_words_version())
            pipe.scard(keys.moderation_words())
            version, size = await pipe.execute()
        return str(version or "0"), int(size)

    async def _refresh(self) -> None:
        stamp = await self._stamp_now()
        if self._automaton is not None and stamp == self._stamp:
            return
        keys = self._store.keys
        # Read the words and the stamp together so the cached automaton matches the stamp it is filed under.
        version, members = await self._store.scripts.run(
            "read_words", [keys.moderation_words(), keys.moderation_words_version()]
        )
        self._automaton = Automaton(members)
        self._stamp = (str(version or "0"), len(members))

    async def stream(self) -> KeywordStream:
        """Return a matcher for a streamed text, pinned to the current list."""
        return KeywordStream(await self.automaton())

    async def check(self, text: str, user_id: str) -> Verdict:
        found = await (await self.automaton()).search(text)
        if not found:
            return Verdict("pass", NAME)
        return Verdict("block", NAME, "keyword", tuple(sorted(found))[:MAX_REPORTED_WORDS])

    def missing_settings(self) -> list[str]:
        return []
