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
    keys = [(p.depth, p.ancestor_classes) for p in paragraphs]
    group_words: dict[tuple, int] = {}
    group_long: dict[tuple, int] = {}
    for key, n in zip(keys, words, strict=True):
        group_words[key] = group_words.get(key, 0) + n
        group_long[key] = group_long.get(key, 0) + (n >= LONG_WORDS)
    total = int(sum(words)) or 1
    long_total = sum(group_long.values()) or 1
    top = max(group_words, key=group_words.__getitem__)  # first-seen wins a tie
    top_depth, top_chain = top
    per_key: dict[tuple, tuple[float, ...]] = {}
    for key in group_words:
        depth, chain = key
        shared = 0
        for a, b in zip(chain, top_chain, strict=False):
            if a != b:
                break
            shared += 1
        per_key[key] = (
            group_words[key] / total,
            group_long[key] / long_total,
            float(key == top),
            math.log1p(group_words[key]) / 8,
            shared / max(1, len(top_chain)),
            float(depth >= top_depth and chain[:len(top_chain)] == top_chain),
        )
    return np.array([per_key[key] for key in keys])
