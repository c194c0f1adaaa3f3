"""The shape of a paragraph: length, case, punctuation, stopwords, endings, speaker tags,
headings, list items, links, dates, template junk.

Tests compare these values with a plain version, written without the shortcuts, on every
seed paragraph and on random text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from operator import itemgetter

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .segment import HEADING, LIST_ITEM

try:
    from . import fastwords
except ImportError:  # not compiled: the Python reference does the same
    fastwords = None

# Han and kana: Chinese and Japanese put no spaces between words, so each of these
# characters is a word of its own (as ``fastwords._is_cjk``); Korean writes spaces.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# (?=\w): the block holds punctuation too ("・", "゠"), which is no word.
WORD = re.compile(rf"[^\W{CJK}]+|(?=\w)[{CJK}]", re.UNICODE)
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


def _word_stats_python(text: str) -> tuple[int, ...]:
    """(words, words starting upper-case, stopwords, characters in words) and
    ``char_classes``: the reference for ``fastwords.word_stats``."""
    words = WORD.findall(text)
    return (len(words), sum(map(str.isupper, map(FIRST, words))),
            sum(map(STOP.__contains__, map(str.lower, words))), sum(map(len, words)),
            *char_classes(text))


_LONGEST_STOP = max(map(len, STOP))


def shape_table(texts: Sequence[str]) -> np.ndarray:
    """SHAPE_NAMES of every text, one row each, and last, the text's number of words.

    Compiled, one pass of ``fastwords`` per text does what ``_measure`` (the reference)
    does with a regular expression or a map per feature: a third of the features' cost.
    """
    if fastwords is not None:
        return fastwords.measure_all(list(texts), np.empty((len(texts), len(SHAPE_NAMES) + 1)))
    out = np.array([_measure(t) for t in texts], dtype=np.float64)
    return out.reshape(len(texts), len(SHAPE_NAMES) + 1)


def _measure(text: str) -> list[float]:
    """SHAPE_NAMES of one text, and its number of words (topical fit needs it too).

    Each pattern runs only when a substring it cannot match without is present (a speaker
    tag needs a colon, a markdown heading a leading '#', ...): the same values, cheaper.
    Whole-array passes over all the paragraphs of a call were tried: no faster on an
    article, 0.15 ms faster on an HTML page of short blocks (about 1% of scoring it), for
    twice the code.
    """
    n = len(text) or 1
    nw, capitalised, stopwords, in_words, upper, alpha, digits, punct = _word_stats_python(text)
    letters = (upper + alpha) or 1
    low = text.lower()
    if nw:
        caps = capitalised / nw
        stops = stopwords / nw
        mean_len = in_words / nw
    else:
        caps = stops = mean_len = 0.0
    sentences = len(SENTENCE_END.findall(text))
    stripped = text.rstrip()
    last = stripped[-1:]
    # The ellipsis pattern ends the text, which has no trailing space: in '.', '…' or ']'.
    ellipsis = last in ".…]" and bool(ELLIPSIS.search(stripped[-8:]))
    first = text[:1]
    return [
        math.log1p(len(text)) / 8,
        math.log1p(nw) / 6,
        1.0 if nw <= 1 else 0.0,
        1.0 if nw <= 3 else 0.0,
        1.0 if nw >= 40 else 0.0,
        upper / letters,
        digits / n,
        punct / n,
        caps,
        stops,
        min(mean_len, 15) / 15,
        math.log1p(sentences) / 3,
        1.0 if last == "." and not ellipsis else 0.0,
        1.0 if ellipsis else 0.0,
        1.0 if last == "?" else 0.0,
        1.0 if last == "!" else 0.0,
        1.0 if last == ":" else 0.0,
        1.0 if last and last not in ".!?:…\"'”’)" else 0.0,
        1.0 if ellipsis and nw <= 30 else 0.0,
        1.0 if ":" in text and SPEAKER.match(text) else 0.0,
        1.0 if first in "*_" and BOLD_SPEAKER.match(text) else 0.0,
        1.0 if first == "#" and HEADING.match(text) else 0.0,
        1.0 if (first in "-*+•" or first.isdigit()) and LIST_ITEM.match(text) else 0.0,
        1.0 if URL.search(low) else 0.0,
        # Every date holds a digit.
        1.0 if digits > 0 and DATE.search(low) else 0.0,
        1.0 if _has_template(low) else 0.0,
        1.0 if QUOTE.search(text) else 0.0,
        1.0 if letters > 3 and upper / letters > 0.8 else 0.0,
        1.0 if first.isdigit() else 0.0,
        float(nw),
    ]


def _has_template(low: str) -> bool:
    # Every match of TEMPLATE holds one of these substrings.
    return ("{" in low or "}" in low or "_img" in low or "caption" in low or "undefined" in low
            or "null" in low) and TEMPLATE.search(low) is not None


if fastwords is not None:
    fastwords.configure_shape(STOP, _LONGEST_STOP, SPEAKER.match, BOLD_SPEAKER.match,
                              HEADING.match, LIST_ITEM.match)


def shape_vector(text: str) -> list[float]:
    """SHAPE_NAMES of one paragraph."""
    return shape_table([text])[0, :-1].tolist()
