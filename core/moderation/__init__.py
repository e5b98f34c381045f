"""Moderation: a pipeline of providers (TEXT_SECURITY, in order) over what the caller wrote and the model's output.

Each provider gives a Verdict; the first `block` stops the pipeline. A `review` becomes MODERATION_ON_REVIEW. A
provider that cannot answer follows MODERATION_FAIL_OPEN: pass with a warning (default), or block with a clear
reason — one failing API never blocks every message unless the operator asked for fail-closed. Blocked items go to
the `mod:log` stream for the dashboard (core.moderation.log). Output is guarded as it streams
(core.moderation.output). The pipeline itself: core.moderation.pipeline.
"""

from core.moderation.keywords import add_words, get_words, remove_words, set_words
from core.moderation.log import BlockRecord, recent_blocks
from core.moderation.output import OutputGuard
from core.moderation.pipeline import Moderation, build_moderation
from core.moderation.verdicts import ProviderError, Verdict

__all__ = [
    "BlockRecord",
    "Moderation",
    "OutputGuard",
    "ProviderError",
    "Verdict",
    "add_words",
    "build_moderation",
    "get_words",
    "recent_blocks",
    "remove_words",
    "set_words",
]
