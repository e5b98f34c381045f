"""Token counting: offline tiktoken from an empty cache dir, encodings by model, chat message accounting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.chat.token_count import cache_file, count_message_tokens, count_tokens, encoding_name_for

OFFLINE_SCRIPT = """
import socket, sys

def refuse(*args, **kwargs):
    raise OSError("network access attempted")

socket.socket.connect = refuse
socket.create_connection = refuse
from core.chat.token_count import configure_tokens, count_tokens
configure_tokens(sys.argv[1])
print(count_tokens("hello world", "gpt-4o"), count_tokens("hello world", "gpt-3.5-turbo"))
"""


def test_tiktoken_works_offline_with_an_empty_cache_dir(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken"
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2"]
    for name in ("cl100k_base", "o200k_base"):
        assert cache_file(cache, name).stat().st_size > 1_000_000


def test_encoding_follows_the_model() -> None:
    for model in ("gpt-4o", "gpt-4o-mini", "o1-preview", "o3-mini", "gpt-4.1-nano", "gpt-5", "openai/gpt-4o"):
        assert encoding_name_for(model) == "o200k_base", model
    for model in ("gpt-4", "gpt-3.5-turbo", "deepseek-chat", "text-embedding-3-small"):
        assert encoding_name_for(model) == "cl100k_base", model


def test_the_encodings_differ_where_they_should() -> None:
    text = "数据中心的冷却系统"
    assert count_tokens(text, "gpt-4o") < count_tokens(text, "gpt-4")
    assert count_tokens("", "gpt-4o") == 0


def test_message_tokens_match_openai_accounting() -> None:
    # The example of OpenAI's cookbook "How to count tokens with tiktoken": 129 prompt tokens on gpt-4-0613.
    messages = [
        {
            "role": "system",
            "content": "You are a helpful, pattern-following assistant that translates corporate jargon "
            "into plain English.",
        },
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {
            "role": "system",
            "name": "example_assistant",
            "content": "Things working well together will increase revenue.",
        },
        {
            "role": "system",
            "name": "example_user",
            "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
            "for increased leverage.",
        },
        {
            "role": "system",
            "name": "example_assistant",
            "content": "Let's talk later when we're less busy about how to do better.",
        },
        {
            "role": "user",
            "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
        },
    ]
    assert count_message_tokens(messages, "gpt-4-0613") == 129
    assert count_message_tokens(messages, "gpt-4o") == 124


def test_content_parts_are_counted() -> None:
    parts = [{"type": "text", "text": "hello world"}, {"type": "image_url", "image_url": {"url": "data:,"}}]
    plain = count_message_tokens([{"role": "user", "content": "hello world"}], "gpt-4o")
    assert count_message_tokens([{"role": "user", "content": parts}], "gpt-4o") == plain + 85
