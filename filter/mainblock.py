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
from .features import Runs, document_runs

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


def main_block_matrix(rows: Sequence[Row], body: np.ndarray,
                      runs: Runs | None = None) -> np.ndarray:
    """One row of ``NAMES`` per row; ``body``: the first opinion of P(body) per row
    (``runs``: ``document_runs(rows)``, when the caller has it)."""
    runs = document_runs(rows) if runs is None else runs
    p = body[runs.order]
    words = np.array([len(rows[o].paragraph.text.split()) or 1 for o in runs.order.tolist()],
                     dtype=np.float64)
    scores = (p - 0.5) * words
    positive = np.clip(scores, 0.0, None)
    blocks = np.zeros((len(runs.sizes), 2), dtype=np.intp)
    shares = np.zeros(len(runs.sizes))
    for d, (start, n) in enumerate(zip(runs.starts.tolist(), runs.sizes.tolist(),
                                       strict=True)):
        first, last = blocks[d] = main_block(scores[start:start + n])
        held = positive[start:start + n].sum()
        if held > 0:
            shares[d] = positive[start + first:start + last + 1].sum() / held
    j, at = runs.rank, runs.sums_at
    first, last = np.repeat(blocks, runs.sizes, axis=0).T
    # Words of furniture strictly between a paragraph and the block.
    furniture = runs.cumsum(np.where(p < 0.5, words, 0.0))
    between = np.where(j < first, furniture[at + first] - furniture[at + j + 1],
                       np.where(j > last, furniture[at + j] - furniture[at + last + 1], 0.0))
    out = np.empty((len(rows), len(NAMES)))
    out[runs.order] = np.column_stack([
        (j >= first) & (j <= last), j < first, j > last, np.log1p(between),
        np.repeat(shares, runs.sizes),
    ])
    return out
