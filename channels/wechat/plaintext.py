"""Markdown answers as WeChat plain text, and long texts split into messages of at most 2048 bytes of UTF-8.

WeChat shows text messages verbatim, so Markdown symbols would show raw. Code blocks are kept line for line (only
their fences go, with the language named above the code); links become "text (url)"; headings, emphasis, inline
code marks, quotes, list bullets, tables and escapes become plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_MESSAGE_BYTES = 2048  # WeChat's limit for one text message, passive reply or customer-service message
RULE = "——————"

_FENCE = re.compile(r"^\s{0,3}(```+|~~~+)\s*([\w+#.-]*)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_TASK = re.compile(r"^(\s*)[-*+]\s+\[([ xX])\]\s+")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?>")
_EMPHASIS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*"), r"\1"),
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<![\w_])__(?=\S)(.+?)(?<=\S)__(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])"), r"\1"),
]
_HOLE = "\ue000{}\ue001"
_HOLES = re.compile("\ue000(\\d+)\ue001")


def markdown_to_text(markdown: str) -> str:
    """Return `markdown` as readable plain text (see the module docstring)."""
    lines: list[str] = []
    fence: str | None = None
    for line in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1).startswith(fence) and not line.strip()[len(opened.group(1)) :].strip():
                fence = None
                lines.append("")
            else:
                lines.append(line)  # code is kept as written
            continue
        if opened:
            fence = opened.group(1)
            lines.extend(["", f"【{opened.group(2)}】"] if opened.group(2) else [""])
            continue
        _block_line(line, lines)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _block_line(line: str, lines: list[str]) -> None:
    """Append the plain form of one line outside code blocks."""
    previous = lines[-1] if lines else ""
    if _TABLE_SEPARATOR.match(line) and "|" in line:
        return
    if _SETEXT.match(line) and previous.strip() and previous != RULE:
        return  # "Title" over "=====" or "-----": the underline of a heading; the title line stays as it is
    if _RULE.match(line):
        lines.append(RULE)
        return
    quoted = _QUOTE.match(line)
    prefix = ""
    while quoted:
        prefix += "│ "
        line = line[quoted.end() :]
        quoted = _QUOTE.match(line)
    heading = _HEADING.match(line)
    if heading:
        line = heading.group(1)
    elif task := _TASK.match(line):
        line = task.group(1) + ("☑ " if task.group(2) in "xX" else "☐ ") + line[task.end() :]
    elif bullet := _BULLET.match(line):
        line = bullet.group(1) + "• " + line[bullet.end() :]
    stripped = line.strip()
    if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
        line = " | ".join(cell.strip() for cell in stripped[1:-1].split("|"))
    lines.append(prefix + inline_to_text(line))


def inline_to_text(text: str) -> str:
    """Return one line's inline Markdown as plain text (code spans and escaped characters are kept as written)."""
    kept: list[str] = []

    def hold(value: str) -> str:
        kept.append(value)
        return _HOLE.format(len(kept) - 1)

    text = _CODE_SPAN.sub(lambda m: hold(m.group(2).strip() or m.group(2)), text)
    text = _ESCAPE.sub(lambda m: hold(m.group(1)), text)
    text = _AUTOLINK.sub(lambda m: hold(m.group(1)), text)
    text = _IMAGE.sub(lambda m: hold(_labelled(m.group(1), m.group(2))), text)
    text = _LINK.sub(lambda m: hold(_labelled(m.group(1), m.group(2))), text)
    text = _BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    for pattern, replacement in _EMPHASIS:
        text = pattern.sub(replacement, text)
    return _restore(text, kept)


def _labelled(label: str, url: str) -> str:
    label = inline_to_text(label).strip()
    return url if not label or label == url else f"{label} ({url})"


def _restore(text: str, kept: list[str]) -> str:
    while _HOLES.search(text):
        text = _HOLES.sub(lambda m: kept[int(m.group(1))], text)
    return text


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def split_message(text: str, continue_line: str, *, every: int = 1, limit: int = MAX_MESSAGE_BYTES) -> list[str]:
    """Split `text` into messages of at most `limit` bytes of UTF-8, in order, cut at paragraph, line or sentence
    ends where possible. Message i (counting from 1) ends with `continue_line` when i is a multiple of `every` and
    more messages follow: the reader must send something to get them."""
    tail = "\n\n" + continue_line
    budget = limit - utf8_len(tail)
    if budget < 16:
        raise ValueError("the continue line leaves no room for text")
    parts: list[str] = []
    rest = text
    while rest:
        if utf8_len(rest) <= limit:
            parts.append(rest)  # the last message needs no continue line
            break
        carries_tail = (len(parts) + 1) % every == 0
        head, rest = _cut(rest, budget if carries_tail else limit)
        parts.append(head + tail if carries_tail else head)
    return parts


_SENTENCE_ENDS = ("。", "！", "？", "；", ". ", "! ", "? ", "; ")


def _sentence_end(window: str) -> int:
    """Return the index of the last character of the last sentence end in `window`, or -1."""
    found = [window.rfind(mark) + len(mark) - 1 for mark in _SENTENCE_ENDS if mark in window]
    return max(found, default=-1)


def _cut(text: str, budget: int) -> tuple[str, str]:
    """Return (head of at most `budget` bytes, the rest), cut at the best boundary in the second half of the head:
    a paragraph end, a line end, a sentence end, a space; else at a character boundary."""
    window = text.encode("utf-8")[:budget].decode("utf-8", "ignore")
    finders: list[Callable[[str], int]] = [lambda w: w.rfind("\n\n"), lambda w: w.rfind("\n"), _sentence_end,
                                           lambda w: w.rfind(" ")]  # fmt: skip
    for find in finders:
        at = find(window)
        if at >= len(window) // 2:
            head = text[:at] if text[at].isspace() else text[: at + 1]
            return head.rstrip("\n"), text[at + 1 :].lstrip("\n")
    return window, text[len(window) :]
