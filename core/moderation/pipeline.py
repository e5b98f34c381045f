"""The moderation pipeline: providers (TEXT_SECURITY, in order) over what the caller wrote and the model's output.

Each provider gives a Verdict; the first `block` stops the pipeline. A `review` becomes MODERATION_ON_REVIEW. A
provider that cannot answer follows MODERATION_FAIL_OPEN: pass with a warning (default), or block with a clear
reason — one failing API never blocks every message unless the operator asked for fail-closed. Blocked items go to
the `mod:log` stream for the dashboard. Output is guarded as it streams: keywords on every delta (the automaton
state carries across deltas, so split words are found), remote providers on each full chunk of
MODERATION_OUTPUT_CHUNK_CHARS plus some overlap with the previous chunk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NoReturn

import httpx

from core.errors import ContentBlocked
from core.metrics import Metrics
from core.moderation.baidu import BaiduProvider
from core.moderation.config import PROVIDER_NAMES, ModerationConfig, policy_override
from core.moderation.keywords import KeywordProvider
from core.moderation.log import Direction, log_block
from core.moderation.openai_mod import OpenAIProvider
from core.moderation.output import OutputGuard
from core.moderation.passed import not_yet_passed, remember_passed
from core.moderation.tencent import TencentProvider
from core.moderation.verdicts import Provider, ProviderError, Verdict
from core.settings import Settings
from core.store.connection import Store

log = logging.getLogger(__name__)

UNAVAILABLE = "provider_unavailable"
MESSAGES = {
    "input": "Your message was blocked by content moderation.",
    "output": "The answer was stopped by content moderation.",
    UNAVAILABLE: "Content moderation is unavailable, so this could not be checked; try again later.",
}


class Moderation:
    """The configured pipeline; `check_texts` for what the caller wrote, `output_guard` for answers.

    `providers` run in order; `available` are every provider that could be chosen (by name). When an admin sets
    the policy in the dashboard (core.moderation.config), `refresh` switches to it: providers from `available` in
    the order given, and its fail-open choice.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        providers: list[Provider],
        clock: Callable[[], float],
        available: dict[str, Provider] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.available = available if available is not None else {p.name: p for p in providers}
        self.fail_open = settings.MODERATION_FAIL_OPEN
        self._initial = providers
        self.metrics = Metrics(instance="moderation")  # build_services hands it the process's (kept across refreshes)
        self._use(providers)
        self._policy: ModerationConfig | None = None

    def _use(self, providers: list[Provider]) -> None:
        self.providers = providers
        self.keywords = next((p for p in providers if isinstance(p, KeywordProvider)), None)
        self.remote = [p for p in providers if not isinstance(p, KeywordProvider)]

    async def refresh(self) -> None:
        """Follow the policy set in the dashboard, if any (this process's copy: at most ~1 s old)."""
        policy = await policy_override(self.store, self.settings)
        if policy == self._policy:
            return
        self._policy = policy
        if policy is None:  # nothing set in the dashboard (or it was just built): the environment's pipeline
            self._use(self._initial)
            self.fail_open = self.settings.MODERATION_FAIL_OPEN
            return
        self._use([self.available[name] for name in policy.providers if name in self.available])
        self.fail_open = policy.fail_open

    def missing_settings(self, name: str) -> list[str]:
        """Name the settings provider `name` still needs (empty when it can be used)."""
        provider = self.available.get(name)
        return ["its settings"] if provider is None else provider.missing_settings()

    @property
    def enabled(self) -> bool:
        return bool(self.providers)

    async def check_texts(self, texts: Sequence[str], user_id: int | str, channel: str = "") -> None:
        """Check everything a caller wrote for one call (an API call resends its history, system prompt included).

        Providers run in TEXT_SECURITY order: keywords over all of it, remote providers only over the texts they
        have not passed before (see core.moderation.passed), so an honest client's history costs nothing more than
        its new message, and a made-up history cannot carry text past them. Raises ContentBlocked before any quota
        is consumed.
        """
        await self.refresh()
        texts = [text for text in texts if text.strip()]
        if not texts:
            return
        uid = str(user_id)
        names = ",".join(provider.name for provider in self.remote)
        fresh = await not_yet_passed(self.store, names, texts) if self.remote else []
        everything, new, answered = "\n".join(texts), "\n".join(fresh), True
        for provider in self.providers:
            text = everything if provider is self.keywords else new
            if not text:
                continue
            verdict = await self._ask(provider, text, uid)
            if verdict.decision == "block":
                await self.blocked(verdict, "input", text, uid, channel)
            answered = answered and verdict.label != UNAVAILABLE
        if fresh and answered:
            await remember_passed(self.store, names, fresh)

    def output_guard(self, user_id: int | str, channel: str = "") -> OutputGuard:
        """Return a guard for one streamed answer (`channel`: where it goes, for the blocked-items log)."""
        return OutputGuard(self, str(user_id), self.settings.MODERATION_OUTPUT_CHUNK_CHARS, channel)

    async def judge(self, text: str, user_id: str, providers: list[Provider]) -> Verdict | None:
        """Run providers in order; return the verdict that blocks the text, or None when it may pass."""
        if not text.strip():
            return None
        for provider in providers:
            verdict = await self._ask(provider, text, user_id)
            if verdict.decision == "block":
                return verdict
        return None

    async def _ask(self, provider: Provider, text: str, user_id: str) -> Verdict:
        try:
            verdict = await provider.check(text, user_id)
        except Exception as exc:  # any failure of a provider is "no verdict", handled by the policy below
            return self.on_failure(provider.name, exc)
        if verdict.decision == "review":
            return replace(verdict, decision=self.settings.MODERATION_ON_REVIEW)
        return verdict

    def on_failure(self, provider: str, exc: Exception) -> Verdict:
        """Turn a provider failure into pass (fail-open, with a warning) or block (fail-closed)."""
        known = isinstance(exc, ProviderError)
        reason = str(exc) if known else f"{provider}: unexpected {type(exc).__name__}"
        if self.fail_open:
            log.warning("moderation provider failed, text passed (fail-open): %s", reason, exc_info=not known)
            return Verdict("pass", provider, UNAVAILABLE, reason=reason)
        log.warning("moderation provider failed, text blocked (fail-closed): %s", reason, exc_info=not known)
        return Verdict("block", provider, UNAVAILABLE, reason=reason)

    async def blocked(
        self, verdict: Verdict, direction: Direction, text: str, user_id: str, channel: str = ""
    ) -> NoReturn:
        """Log a blocked item for the dashboard and raise ContentBlocked."""
        try:
            await log_block(
                self.store, user_id=user_id, direction=direction, verdict=verdict, text=text, now=self.clock(),
                channel=channel,
            )  # fmt: skip
        except Exception as exc:  # the block stands even if the log write fails
            log.warning("could not log a blocked item: %s", type(exc).__name__)
        labels = {"direction": direction, "provider": verdict.provider, "channel": channel or "other"}
        self.metrics.inc("chatgate_moderation_blocks_total", **labels)
        message = MESSAGES[UNAVAILABLE] if verdict.label == UNAVAILABLE else MESSAGES[direction]
        raise ContentBlocked(message, provider=verdict.provider, label=verdict.label, direction=direction)

    async def check(self) -> list[str]:
        """Name what is missing for each selected provider, else ask it once (for `chatgate doctor`)."""
        # Providers are asked concurrently (each within MODERATION_TIMEOUT_SECONDS), answers kept in pipeline order.
        answers = await asyncio.gather(*map(_probe, self.providers))
        problems = [problem for answer in answers for problem in answer]
        if self.keywords is not None and not await self.store.redis.scard(self.store.keys.moderation_words()):
            problems.append("keywords: the word list is empty (add words in the dashboard)")
        return problems

    def check_notes(self) -> list[str]:
        """Say what the doctor's provider calls cost, where they are not free (Tencent TMS)."""
        return [
            f"{provider.name}: {note}"
            for provider in self.remote
            if (note := getattr(provider, "CHECK_NOTE", "")) and not provider.missing_settings()
        ]


async def _probe(provider: Provider) -> list[str]:
    """Name the settings a provider misses, else run its doctor call (keywords have none)."""
    if missing := provider.missing_settings():
        return [f"{provider.name}: missing {', '.join(missing)}"]
    probe = getattr(provider, "probe", None)
    if probe is None:
        return []
    try:
        return list(await probe())
    except Exception as exc:  # a doctor reports, it never crashes
        return [f"{provider.name}: check failed ({type(exc).__name__})"]


def build_moderation(
    settings: Settings,
    store: Store,
    http: httpx.AsyncClient,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> Moderation:
    """Build the pipeline TEXT_SECURITY names, in its order; an unknown name is a configuration error."""
    names = list(dict.fromkeys(name.strip().lower() for name in settings.TEXT_SECURITY if name.strip()))
    unknown = [name for name in names if name not in PROVIDER_NAMES]
    if unknown:
        raise ValueError(f"TEXT_SECURITY: unknown provider {unknown[0]!r}; choose from {', '.join(PROVIDER_NAMES)}")
    available: dict[str, Provider] = {
        "keywords": KeywordProvider(store, settings.MODERATION_WORDS_REFRESH_SECONDS, monotonic),
        "tencent": TencentProvider(settings, http, clock),
        "baidu": BaiduProvider(settings, store, http),
        "openai": OpenAIProvider(settings, http),
    }
    return Moderation(settings, store, [available[name] for name in names], clock, available)
