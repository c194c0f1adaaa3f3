"""Where a paragraph lies against its page's main block.

An article is one stretch of its page. The comment thread under it, the related-story
ledes beside it and a cookie notice can read like prose, one paragraph at a time, but
they lie outside that stretch, often past a run of furniture. Given a first opinion of
P(body) for every paragraph, the main block is the run of paragraphs whose words are
most body-like: the maximum-sum run of (P(body) - 1/2) x words. The gate's second pass
reads whether a paragraph is in it, before or after it, how many words of furniture lie
between, and how much of the page's body-like text the block holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .document import Row
from .features import _group, _paragraph_order

NAMES = (
    "in the main block", "before the main block", "after the main block",
    "log furniture words to the main block", "main block's share of body-like words",
)


def main_block(scores: np.ndarray) -> tuple[int, int]:
    """(first, last) position of the run of ``scores`` with the largest sum.

    Of runs with equal sums, the one that ends first, and starts last: a lead-in that
    sums to zero is not part of it.
    """
    total = np.concatenate(([0.0], np.cumsum(scores)))
    lowest = np.minimum.accumulate(total[:-1])
    last = int(np.argmax(total[1:] - lowest))
    first = last - int(np.argmin(total[last::-1]))
    return first, last


def main_block_matrix(rows: Sequence[Row], body: np.ndarray) -> np.ndarray:
    """One row of ``NAMES`` per row; ``body``: the first opinion of P(body) per row."""
    out = np.zeros((len(rows), len(NAMES)))
    for _doc, positions in _group(rows):
        order = _paragraph_order(rows, positions)
        p = body[order]
        words = np.array([len(rows[o].paragraph.text.split()) or 1 for o in order],
                         dtype=np.float64)
        scores = (p - 0.5) * words
        first, last = main_block(scores)
        # Words of furniture strictly between a paragraph and the block.
        furniture = np.concatenate(([0.0], np.cumsum(np.where(p < 0.5, words, 0.0))))
        j = np.arange(len(order))
        between = np.where(j < first, furniture[first] - furniture[j + 1],
                           np.where(j > last, furniture[j] - furniture[last + 1], 0.0))
        positive = np.clip(scores, 0.0, None)
        held = positive.sum()
        share = positive[first:last + 1].sum() / held if held > 0 else 0.0
        out[order] = np.column_stack([
            (j >= first) & (j <= last), j < first, j > last, np.log1p(between),
            np.full(len(order), share),
        ])
    return out
