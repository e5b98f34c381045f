"""Markdown to Telegram HTML (everything escaped, what Telegram can show kept) and splitting at 4096."""

from __future__ import annotations

import pytest

from channels.telegram.render import PART_LIMIT, split_parts, to_html, utf16_length
from tests.fakes.telegram_html import EntityError, visible_text


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
        ("**bold** and *it* and ~~gone~~", "<b>bold</b> and <i>it</i> and <s>gone</s>"),
        ("`x<y>` here", "<code>x&lt;y&gt;</code> here"),
        ("[docs](https://e.x/?a=1&b=2)", '<a href="https://e.x/?a=1&amp;b=2">docs</a>'),
        ("## Title", "<b>Title</b>"),
        ("- one\n* two", "• one\n• two"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("[bad](javascript:alert(1))", "[bad](javascript:alert(1))"),
        (
            "```python\nif a < b:\n    pass\n```",
            '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>',
        ),
        ("```\nstill streaming", "<pre><code>still streaming</code></pre>"),
        ("<b>not ours</b>", "&lt;b&gt;not ours&lt;/b&gt;"),
    ],
)
def test_to_html(markdown: str, expected: str) -> None:
    assert to_html(markdown) == expected
    visible_text(expected)  # and Telegram accepts it


def test_every_prefix_of_a_streaming_answer_is_valid_markup() -> None:
    answer = "# Plan\nUse **bold** and `code`, *it*.\n```js\nlet x = a < b && c;\n```\n- [x](https://e.x) ~~y~~ done"
    for end in range(1, len(answer) + 1):
        visible_text(to_html(answer[:end]))  # never raises EntityError


def test_the_fake_refuses_what_telegram_refuses() -> None:
    for markup in ("<x>hi</x>", "<b>open", "a < b", "<b><i>x</b></i>"):
        with pytest.raises(EntityError):
            visible_text(markup)
    assert visible_text("<b>a</b> &lt;&amp;&#33;") == "a <&!"


def test_long_text_splits_at_spaces_with_nothing_lost() -> None:
    text = " ".join(f"word{index}" for index in range(2000))
    parts = split_parts(text)
    assert len(parts) == 5 and "".join(parts) == text  # 17,890 characters
    assert all(utf16_length(part) <= PART_LIMIT for part in parts)
    assert all(part.endswith(" ") for part in parts[:-1])  # cut after a space, never inside a word


def test_a_cut_inside_a_code_block_closes_and_reopens_it() -> None:
    code = "intro\n```py\n" + "\n".join(f"x = {index}" for index in range(1500)) + "\n```\nafter"
    parts = split_parts(code)
    assert len(parts) == 4
    assert parts[0].endswith("\n```") and all(part.startswith("```py\n") for part in parts[1:])
    for part in parts:
        assert utf16_length(visible_text(to_html(part))) <= 4096
        assert "```" not in visible_text(to_html(part))
    lines = [line for part in parts for line in part.split("\n") if line.startswith("x = ")]
    assert lines == [f"x = {index}" for index in range(1500)]


def test_cuts_never_move_as_the_answer_grows() -> None:
    text = "".join(f"line {index} " + ("\n" if index % 7 == 0 else "") for index in range(3000))
    final = split_parts(text)
    for end in range(4000, len(text), 997):
        growing = split_parts(text[:end])
        assert growing[:-1] == final[: len(growing) - 1]


def test_wide_characters_count_as_telegram_counts_them() -> None:
    text = "😀" * 3000  # two UTF-16 units each
    parts = split_parts(text)
    assert "".join(parts) == text and all(utf16_length(part) <= PART_LIMIT for part in parts)
