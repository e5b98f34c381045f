"""Telegram's HTML parse mode as the Bot API applies it: the text after entity parsing, or the error it answers.

Supported tags (https://core.telegram.org/bots/api#html-style): b strong i em u ins s strike del span tg-spoiler a
tg-emoji code pre blockquote; the entities &lt; &gt; &amp; &quot; and numeric ones. Every `<` that does not open or
close a supported tag is refused with "can't parse entities", as are tags closed out of order or never closed.
Lengths are counted as the Bot API counts them: in UTF-16 code units.
"""

from __future__ import annotations

import html
import re

SUPPORTED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "tg-emoji", "code", "pre"}
    | {"blockquote"}
)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=\"[^\"]*\"|='[^']*'|=[^\s>]+)?)*)\s*>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class EntityError(ValueError):
    """The markup is refused; str() is the Bot API's description after "Bad Request: "."""


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_text(markup: str) -> str:
    """Return the text a user sees for `markup` in HTML parse mode, or raise EntityError as the Bot API does."""
    out: list[str] = []
    stack: list[str] = []
    index = 0
    while index < len(markup):
        char = markup[index]
        if char == "<":
            match = _TAG.match(markup, index)
            offset = len(markup[:index].encode())
            if match is None:
                raise EntityError(f"can't parse entities: Unexpected end of name token at byte offset {offset}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in SUPPORTED_TAGS:
                raise EntityError(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}')
            if closing:
                if not stack or stack[-1] != name:
                    raise EntityError(
                        f'can\'t parse entities: Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                        f'found "</{name}>"'
                        if stack
                        else f"can't parse entities: Unexpected end tag at byte offset {offset}"
                    )
                stack.pop()
            else:
                stack.append(name)
            index = match.end()
        elif char == "&" and (entity := _ENTITY.match(markup, index)):
            out.append(html.unescape(entity.group(0)))
            index = entity.end()
        else:
            out.append(char)
            index += 1
    if stack:
        raise EntityError(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)
