"""Counting the calls a plan limit refuses (the `chatgate_quota_denials_total` metric, core.metrics).

A denial is any of the plan's limits saying no: the model is not in the plan, its window is full, the daily token
allowance is spent, too many answers are in progress, or the request asks for more than the plan's per-request caps.
The reason is the error's code, the model a catalogue id and the channel one of web, api, wechat, telegram: a small,
bounded label set (never a user id or free text). Counting is in memory; the process adds it into the store every
few seconds, so it costs the chat path no store round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import DailyTokensExceeded, ModelNotInPlan, PlanCapExceeded, QuotaExceeded, TooManyStreams
from core.metrics import Metrics

DENIALS = (ModelNotInPlan, QuotaExceeded, DailyTokensExceeded, TooManyStreams, PlanCapExceeded)


def count_denial(metrics: Metrics, error: Exception, *, model: str, channel: str) -> None:
    """Count `error` when it is a plan limit's refusal (anything else is not a quota denial)."""
    if isinstance(error, DENIALS):
        metrics.inc("chatgate_quota_denials_total", reason=error.code, model=model, channel=channel)


@contextmanager
def counting_denials(metrics: Metrics, *, model: str, channel: str) -> Iterator[None]:
    """Count the plan-limit refusal the block raises (and let it through)."""
    try:
        yield
    except DENIALS as error:
        count_denial(metrics, error, model=model, channel=channel)
        raise
