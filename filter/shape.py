"""The shape of a paragraph: length, case, punctuation, stopwords, endings, speaker tags,
headings, list items, links, dates, template junk.

Computed for all the paragraphs of a call at once: per-paragraph Python (a function
call and a list of 30 values each) was a quarter of the cost of scoring a page. Counts
over words are summed with ``np.bincount`` and the 0/1 columns come from one pass each;
the values are exactly those of measuring one paragraph at a time (tests compare them
with a plain per-paragraph version on every seed paragraph and on random text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .segment import HEADING, LIST_ITEM

WORD = re.compile(r"\w+", re.UNICODE)
SPEAKER = re.compile(
    r"^(?:\*\*|__)?\s*(?:Q|A|[A-Z][\w.'’\-]*(?:\s+[A-Z][\w.'’\-]*){0,3})\s*(?:\*\*|__)?\s*:"
    r"\s*(?:\*\*|__)?\s*\S"
)
BOLD_SPEAKER = re.compile(r"^(?:\*\*|__)[^*_:]{1,40}:(?:\*\*|__)")
ELLIPSIS = re.compile(r"(?:\.\.\.|…|\[\.\.\.\]|\[…\])\s*$")
# These run on lower-cased text: with IGNORECASE and word boundaries they cost more than
# all other shape features together.
URL = re.compile(r"https?://|www\.|\.com\b|\.org\b")
DATE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
)
TEMPLATE = re.compile(r"\{\{|\}\}|\{%|_img|\[/?caption|\bundefined\b|\bnull\b|\$\{")
QUOTE = re.compile(r"[\"“”«»]")
SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’)\]]*)(?:\s|$)")
STOP = ENGLISH_STOP_WORDS

SHAPE_NAMES = (
    "log chars", "log words", "one word", "up to three words", "long paragraph",
    "share of capital letters", "share of digits", "share of punctuation",
    "share of capitalised words", "share of stopwords", "mean word length",
    "log sentences", "ends with '.'", "ends with '...'", "ends with '?'", "ends with '!'",
    "ends with ':'", "no closing punctuation", "short text ending with '...'",
    "speaker tag at start", "bold speaker tag", "markdown heading", "list item",
    "contains a link address", "contains a date", "template junk", "contains quotes",
    "all capitals", "starts with a digit",
)


class _CharClasses(dict):
    """str.translate table: every character -> one letter naming its class.

    Counting letters of a translated string runs in C; a Python loop over every character
    was the largest single cost of scoring.
    """

    def __missing__(self, code: int) -> str:
        c = chr(code)
        cls = ("U" if c.isupper() else "A" if c.isalpha() else "D" if c.isdigit()
               else "N" if c.isalnum() else "S" if c.isspace() else "P")
        self[code] = cls
        return cls


CLASSES = _CharClasses()
# The same classes for ASCII text, as a bytes.translate table: many times faster.
ASCII_CLASSES = bytes(ord(CLASSES[code]) for code in range(128)) + bytes(128)
FIRST = itemgetter(0)


def char_classes(text: str) -> tuple[int, int, int, int]:
    """(upper-case letters, other letters, digits, punctuation) in ``text``."""
    if text.isascii():
        classes = text.encode("ascii").translate(ASCII_CLASSES)
        return classes.count(b"U"), classes.count(b"A"), classes.count(b"D"), classes.count(b"P")
    classes = text.translate(CLASSES)
    return classes.count("U"), classes.count("A"), classes.count("D"), classes.count("P")


# Characters that end a paragraph with closing punctuation (else "no closing punctuation").
_CLOSING = frozenset(".!?:…\"'”’)")


def shape_table(texts: Sequence[str]) -> np.ndarray:
    """SHAPE_NAMES of every text, one row each, and last, the text's number of words.

    Each pattern runs only on texts where a substring it cannot match without is present
    (a speaker tag needs a colon, a markdown heading a leading '#', ...).
    """
    m = len(texts)
    out = np.zeros((m, len(SHAPE_NAMES) + 1))
    if not m:
        return out
    words = list(map(WORD.findall, texts))
    nw = np.fromiter(map(len, words), dtype=np.float64, count=m)
    flat = list(chain.from_iterable(words))
    owner = np.repeat(np.arange(m), nw.astype(np.intp))

    def per_text(values) -> np.ndarray:
        """Sums over each text's words (integers, so exact whatever the order)."""
        return np.bincount(owner, np.fromiter(values, dtype=np.float64, count=len(flat)),
                           minlength=m)

    has_words = nw > 0
    safe_nw = np.where(has_words, nw, 1.0)

    def share(total: np.ndarray) -> np.ndarray:
        return np.where(has_words, total / safe_nw, 0.0)

    caps = share(per_text(map(str.isupper, map(FIRST, flat))))
    stops = share(per_text(map(STOP.__contains__, map(str.lower, flat))))
    mean_len = share(per_text(map(len, flat)))
    upper, alpha, digits, punct = np.array(
        list(map(char_classes, texts)), dtype=np.float64).reshape(m, 4).T
    chars = [len(t) for t in texts]
    n = np.array([c or 1 for c in chars], dtype=np.float64)
    letters = upper + alpha
    letters[letters == 0] = 1.0
    sentences = [len(found) for found in map(SENTENCE_END.findall, texts)]
    stripped = [t.rstrip() for t in texts]
    last = [s[-1:] for s in stripped]
    first = [t[:1] for t in texts]
    # The ellipsis pattern ends the text, which has no trailing space: in '.', '…' or ']'.
    ellipsis = np.array([c in ".…]" and bool(ELLIPSIS.search(s[-8:]))
                         for c, s in zip(last, stripped, strict=True)])
    lows = [t.lower() for t in texts]

    out[:, 0] = np.fromiter(map(math.log1p, chars), dtype=np.float64, count=m) / 8
    out[:, 1] = np.fromiter(map(math.log1p, nw.tolist()), dtype=np.float64, count=m) / 6
    out[:, 2] = nw <= 1
    out[:, 3] = nw <= 3
    out[:, 4] = nw >= 40
    out[:, 5] = upper / letters
    out[:, 6] = digits / n
    out[:, 7] = punct / n
    out[:, 8] = caps
    out[:, 9] = stops
    out[:, 10] = np.minimum(mean_len, 15) / 15
    out[:, 11] = np.fromiter(map(math.log1p, sentences), dtype=np.float64, count=m) / 3
    ends = np.array(last)
    out[:, 12] = (ends == ".") & ~ellipsis
    out[:, 13] = ellipsis
    out[:, 14] = ends == "?"
    out[:, 15] = ends == "!"
    out[:, 16] = ends == ":"
    out[:, 17] = [c != "" and c not in _CLOSING for c in last]
    out[:, 18] = ellipsis & (nw <= 30)
    out[:, 19] = [":" in t and SPEAKER.match(t) is not None for t in texts]
    out[:, 20] = [c in "*_" and BOLD_SPEAKER.match(t) is not None
                  for c, t in zip(first, texts, strict=True)]
    out[:, 21] = [c == "#" and HEADING.match(t) is not None
                  for c, t in zip(first, texts, strict=True)]
    out[:, 22] = [(c in "-*+•" or c.isdigit()) and LIST_ITEM.match(t) is not None
                  for c, t in zip(first, texts, strict=True)]
    out[:, 23] = [URL.search(low) is not None for low in lows]
    # Every date holds a digit, so texts without one are skipped.
    out[:, 24] = [d > 0 and DATE.search(low) is not None
                  for d, low in zip(digits.tolist(), lows, strict=True)]
    out[:, 25] = [_has_template(low) for low in lows]
    out[:, 26] = [QUOTE.search(t) is not None for t in texts]
    out[:, 27] = (upper + alpha > 3) & (upper / letters > 0.8)
    out[:, 28] = [c.isdigit() for c in first]
    out[:, 29] = nw
    return out


def _has_template(low: str) -> bool:
    # Every match of TEMPLATE holds one of these substrings.
    return ("{" in low or "}" in low or "_img" in low or "caption" in low or "undefined" in low
            or "null" in low) and TEMPLATE.search(low) is not None


def shape_vector(text: str) -> list[float]:
    """SHAPE_NAMES of one paragraph."""
    return shape_table([text])[0, :-1].tolist()
