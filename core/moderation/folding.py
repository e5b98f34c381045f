"""Folding text for keyword matching, so look-alike spellings of a listed word are found.

Both the word list and every text (what callers send, and the model's answer as it streams) are folded the same way:
Unicode compatibility normalization (NFKC's folding: fullwidth and halfwidth forms, ligatures, circled and
superscript letters become the plain ones), invisible characters removed (the format characters such as U+200B
ZERO WIDTH SPACE, U+200D ZERO WIDTH JOINER, U+FEFF, soft hyphens and bidi controls, plus variation selectors and
Hangul fillers), case folded (casefold, not lower: "ß" is "ss") and runs of whitespace made one space.

The compatibility form is kept decomposed (NFKD rather than NFKC: the same equivalence, without recomposing), so a
text folded piece by piece — an answer streamed in deltas, a big text in slices — folds exactly as it would whole:
nothing composes across a cut between a letter and its accent. `Folder` carries the whitespace state across pieces.
"""

from __future__ import annotations

import re
import unicodedata

# Every character of general category Cf (Unicode 14-15), plus invisible marks and fillers of other categories:
# combining grapheme joiner, Hangul fillers, variation selectors. tests/core/moderation/test_folding.py checks the Cf
# set against the running Python's Unicode database.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]"
)
SPACES = re.compile(r"\s+")


def clean_word(word: str) -> str:
    """Return a listed word as it is stored and shown: composed (NFKC), invisible characters removed, case folded,
    inner whitespace as single spaces (the matcher folds it further)."""
    return " ".join(unicodedata.normalize("NFKC", INVISIBLE.sub("", word)).casefold().split())


def fold(text: str) -> str:
    """Fold a whole text for keyword matching (see the module docstring)."""
    return Folder().feed(text)


class Folder:
    """Fold a text that arrives in pieces; the pieces' folds joined equal the fold of the whole."""

    __slots__ = ("_space",)

    def __init__(self) -> None:
        self._space = False  # the last folded piece ended with a space

    def feed(self, piece: str) -> str:
        """Return the fold of the next piece."""
        if piece.isascii():  # the common case: nothing to normalize or remove
            folded = piece.lower()
            if not folded.isprintable() or "  " in folded:  # ASCII whitespace but " " is not printable
                folded = SPACES.sub(" ", folded)
        else:
            visible = INVISIBLE.sub("", unicodedata.normalize("NFKD", piece))
            folded = SPACES.sub(" ", unicodedata.normalize("NFKD", visible.casefold()))
        if self._space and folded.startswith(" "):
            folded = folded[1:]
        if folded:
            self._space = folded.endswith(" ")
        return folded
