"""Where an HTML block sits relative to the page's main text container.

An article's paragraphs are siblings under one element; menus, teasers and footers sit
in other containers holding few words. Extractors such as readability score containers
for that reason. Here a block's container is approximated by its depth plus the class and
id tokens of its ancestors (``Paragraph.ancestor_classes``), which siblings share, and
each block learns how much of the page's text its container holds. Text input has no
containers: its columns stay zero and the neighbour context does that work instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .document import Paragraph

CONTAINER_NAMES = (
    "share of page words in same container",
    "share of page's long paragraphs in same container",
    "in the wordiest container",
    "log words in same container",
    "ancestors shared with wordiest container",
    "inside wordiest container",
)
LONG_WORDS = 25


def container_columns(paragraphs: Sequence[Paragraph], words: Sequence[float]) -> np.ndarray:
    """CONTAINER_NAMES columns for every paragraph of one HTML document, given each
    paragraph's number of words."""
    # Containers numbered in first-seen order: one hash of a key per paragraph, and sums
    # by bincount (in paragraph order, as a loop would add them: the same floats).
    ids: dict[tuple, int] = {}
    group = np.fromiter((ids.setdefault((p.depth, p.ancestor_classes), len(ids))
                         for p in paragraphs), dtype=np.intp, count=len(paragraphs))
    words = np.asarray(words, dtype=np.float64)
    group_words = np.bincount(group, weights=words, minlength=len(ids))
    group_long = np.bincount(group, weights=words >= LONG_WORDS, minlength=len(ids))
    total = int(words.sum()) or 1
    long_total = int(group_long.sum()) or 1
    top = int(np.argmax(group_words))  # first-seen wins a tie
    top_depth, top_chain = list(ids)[top]
    table = np.empty((len(ids), len(CONTAINER_NAMES)))
    for k, (depth, chain) in enumerate(ids):
        shared = 0
        for a, b in zip(chain, top_chain, strict=False):
            if a != b:
                break
            shared += 1
        table[k] = (
            group_words[k] / total,
            group_long[k] / long_total,
            float(k == top),
            math.log1p(group_words[k]) / 8,
            shared / max(1, len(top_chain)),
            float(depth >= top_depth and chain[:len(top_chain)] == top_chain),
        )
    return table[group]
