"""Model answers (Markdown) as Telegram messages: HTML parse mode with everything escaped, and long answers split.

`to_html` keeps what Telegram can show (code blocks and spans, bold, italic, strike-through, links, headings as
bold, bullets) and escapes the rest with `html.escape` (PROTOCOLS.md section 7); an open code fence (an answer
still streaming) is closed. Markup it gets wrong is refused by Telegram, and the sender then resends plain text.
`split_parts` cuts a text into parts of at most PART_LIMIT UTF-16 units (how the Bot API counts its 4096), at a
paragraph, line or space where it can; a part that ends inside a code block closes it and the next one reopens it.
Cuts depend only on the text before them, so the parts of a growing answer never move once cut.
"""

from __future__ import annotations

import html
import re

TELEGRAM_LIMIT = 4096
PART_LIMIT = 4000  # leaves room for a closing and reopening code fence in the plain-text fallback
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_BOLD = re.compile(r"\*\*(?=\S)((?:[^<>*]|<a [^>]*>[^<]*</a>)+?)(?<=\S)\*\*|__(?=\S)([^<>_]+?)(?<=\S)__")
_ITALIC = re.compile(
    r"(?<![\w*])\*(?=[^\s*])([^<>*\n]+?)(?<=[^\s*])\*(?![\w*])|(?<!\w)_(?=\S)([^<>_\n]+?)(?<=\S)_(?!\w)"
)
_STRIKE = re.compile(r"~~(?=\S)([^<>~]+?)(?<=\S)~~")
_HEADING = re.compile(r"#{1,6}\s+(.*)")
_BULLET = re.compile(r"(\s*)[-*+]\s+(.*)")
_FENCE = re.compile(r"\s*```\s*([\w+#.-]*)\s*$")


def _inline(text: str) -> str:
    """Escape a run of text outside code spans and turn its Markdown emphasis and links into tags."""
    escaped = html.escape(text, quote=False)
    escaped = _LINK.sub(lambda m: f'<a href="{html.escape(html.unescape(m.group(2)))}">{m.group(1)}</a>', escaped)
    escaped = _BOLD.sub(lambda m: f"<b>{m.group(1) or m.group(2)}</b>", escaped)
    escaped = _ITALIC.sub(lambda m: f"<i>{m.group(1) or m.group(2)}</i>", escaped)
    return _STRIKE.sub(r"<s>\1</s>", escaped)


def _line(line: str) -> str:
    if heading := _HEADING.fullmatch(line):
        return f"<b>{_line(heading.group(1))}</b>"
    if bullet := _BULLET.fullmatch(line):
        return f"{bullet.group(1)}• {_line(bullet.group(2))}"
    pieces, last = [], 0
    for match in _CODE_SPAN.finditer(line):
        pieces += [_inline(line[last : match.start()]), f"<code>{html.escape(match.group(1), quote=False)}</code>"]
        last = match.end()
    return "".join(pieces) + _inline(line[last:])


def _code_block(lines: list[str], language: str) -> str:
    code = html.escape("\n".join(lines), quote=False)
    opening = f'<code class="language-{language}">' if language else "<code>"
    return f"<pre>{opening}{code}</code></pre>"


def to_html(markdown: str) -> str:
    """Return Telegram HTML for a Markdown answer (or part of one)."""
    out: list[str] = []
    code: list[str] | None = None
    language = ""
    for line in markdown.split("\n"):
        fence = _FENCE.match(line) if line.lstrip().startswith("```") else None
        if fence is not None and code is None:
            code, language = [], fence.group(1)
        elif fence is not None and code is not None:
            out.append(_code_block(code, language))
            code = None
        elif code is not None:
            code.append(line)
        else:
            out.append(_line(line))
    if code is not None:
        out.append(_code_block(code, language))
    return "\n".join(out)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, start: int, limit: int) -> int:
    """Return the largest end such that text[start:end] is at most `limit` UTF-16 units."""
    end, units = start, 0
    while end < len(text):
        units += 2 if ord(text[end]) > 0xFFFF else 1
        if units > limit:
            break
        end += 1
    return end


def _cut(text: str, start: int, limit: int) -> int:
    """Return where the part starting at `start` ends: a paragraph, line or space break in its last half if any."""
    end = _fit(text, start, limit)
    if end >= len(text):
        return end
    floor = start + (end - start) // 2
    for separator in ("\n\n", "\n", " "):
        found = text.rfind(separator, floor, end)
        if found > start:
            return found + len(separator)
    return end


def _open_fence(part: str, language: str | None) -> str | None:
    """Return the language of the code block still open at the end of `part` (None: not inside one)."""
    for line in part.split("\n"):
        fence = _FENCE.match(line) if line.lstrip().startswith("```") else None
        if fence is not None:
            language = fence.group(1) if language is None else None
    return language


def split_parts(text: str, limit: int = PART_LIMIT) -> list[str]:
    """Return `text` as parts of at most about `limit` units, code blocks closed and reopened across cuts."""
    parts: list[str] = []
    start, language = 0, None
    while True:
        end = _cut(text, start, limit)
        part = text[start:end]
        if language is not None:
            part = f"```{language}\n{part}"
        language = _open_fence(part, None)
        if end < len(text) and language is not None:
            part += "\n```"
        parts.append(part)
        if end >= len(text):
            return parts
        start = end
