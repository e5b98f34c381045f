"""Markdown answers become readable plain text; long texts are split at 2048 bytes of UTF-8, in order."""

from __future__ import annotations

import pytest

from channels.wechat.plaintext import MAX_MESSAGE_BYTES, markdown_to_text, split_message, utf8_len

CONTINUE = "（回复任意内容继续）"


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("# 标题\n正文", "标题\n正文"),
        ("Some **bold**, *italic*, __strong__, _em_ and ~~gone~~.", "Some bold, italic, strong, em and gone."),
        ("see [the docs](https://example.com/a_b) now", "see the docs (https://example.com/a_b) now"),
        ("![chart](https://img.example/c.png)", "chart (https://img.example/c.png)"),
        ("<https://example.com>", "https://example.com"),
        ("use `x**2` here", "use x**2 here"),
        ("2*3*4 and snake_case_name stay", "2*3*4 and snake_case_name stay"),
        ("- one\n* two\n+ three\n1. first", "• one\n• two\n• three\n1. first"),
        ("- [x] done\n- [ ] todo", "☑ done\n☐ todo"),
        ("> quoted **text**\n> > nested", "│ quoted text\n│ │ nested"),
        ("| a | b |\n|---|:-:|\n| 1 | 2 |", "a | b\n1 | 2"),
        ("Title\n=====\n\ntext\n\n---\n\nmore", "Title\n\ntext\n\n——————\n\nmore"),
        (r"\*not emphasis\* and \_", "*not emphasis* and _"),
        ("line<br>break and <b>tag</b>", "line\nbreak and tag"),
    ],
)
def test_markdown_becomes_plain_text(markdown: str, text: str) -> None:
    assert markdown_to_text(markdown) == text


def test_code_blocks_are_kept_line_for_line() -> None:
    markdown = "Here:\n\n```python\ndef f(x):\n    return x**2  # **not bold** [a](b)\n```\nDone."
    kept = "def f(x):\n    return x**2  # **not bold** [a](b)"
    assert markdown_to_text(markdown) == f"Here:\n\n【python】\n{kept}\n\nDone."
    assert markdown_to_text("~~~\n<b>raw</b>\n~~~") == "<b>raw</b>"


def test_short_texts_are_one_message() -> None:
    assert split_message("short", CONTINUE) == ["short"]
    exact = "字" * (MAX_MESSAGE_BYTES // 3) + "ab"
    assert utf8_len(exact) == MAX_MESSAGE_BYTES and split_message(exact, CONTINUE) == [exact]


@pytest.mark.parametrize(
    "text",
    [
        "\n\n".join(f"第{n}段。" + "内容" * 120 for n in range(12)),  # paragraphs
        "\n".join(f"line {n} " + "x" * 70 for n in range(200)),  # lines
        "这是一个很长的句子。" * 700,  # sentences without any newline
        "词" * 3000,  # nothing to cut at: whole characters
        "🙂" * 1500,  # four-byte characters
    ],
    ids=["paragraphs", "lines", "sentences", "no-boundary", "emoji"],
)
def test_long_texts_split_at_2048_bytes_in_order(text: str) -> None:
    parts = split_message(text, CONTINUE)
    assert len(parts) > 1
    assert all(utf8_len(part) <= MAX_MESSAGE_BYTES for part in parts)
    assert all(part.endswith("\n\n" + CONTINUE) for part in parts[:-1]) and not parts[-1].endswith(CONTINUE)
    restored = [part.removesuffix("\n\n" + CONTINUE) for part in parts]
    assert "".join(restored).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_every_fifth_part_asks_for_more_in_service_mode() -> None:
    parts = split_message("句子。" * 5000, CONTINUE, every=5)
    assert len(parts) > 5
    asking = [index for index, part in enumerate(parts) if part.endswith(CONTINUE)]
    assert asking == [index for index in range(4, len(parts) - 1, 5)]
    assert all(utf8_len(part) <= MAX_MESSAGE_BYTES for part in parts)
