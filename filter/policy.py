"""Keep or drop: what the caller wants, applied to the model's probabilities."""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .document import repeat_key
from .labels import LABELS, Label

DEFAULT_KEEP = frozenset({Label.BODY})
# Drop only when the unwanted labels together are more likely than the wanted ones.
DEFAULT_MIN_CONFIDENCE = 0.5
# ``never_empty`` keeps nothing of a document whose best paragraph is less likely wanted
# than this: chosen out of fold (0.05 to 0.15 gave the same figures; see ``Policy``).
FALLBACK_FLOOR = 0.1
# ``never_empty`` tops up a document whose kept paragraphs hold fewer words than this.
THIN_WORDS = 100
# ``drop_repeats``' merged copies (``merged_copies``): a kept paragraph of at least
# COPY_WORDS words, COPY_SHARE of them in at least COPY_SOURCES other kept paragraphs found
# whole inside it. Out of fold, shares of 0.3 to 0.5 and 2 or 3 paragraphs made the same
# choices; 0.2, or sources of any length, dropped article text on wcxb pages.
COPY_WORDS = 100
COPY_SHARE = 0.4
COPY_SOURCES = 3
COPY_SOURCE_WORDS = 5
COPY_CANDIDATES = 3
# Words of a candidate times sources to search in it, at most: past it a page is too large
# for the rule (a book's 20,000 paragraphs under a 30,000-word one took 3 s).
COPY_MAX_WORK = 2_000_000

@dataclass(frozen=True)
class Policy:
    """Which labels to keep, and how sure the model must be before it drops a paragraph.

    ``min_confidence``: a paragraph whose label is not kept is still kept unless the
    probability of the labels not kept reaches this value.
    ``drop_repeats``: a stretch the document prints twice is kept once, and its title
    once, and a block that merges a copy of kept paragraphs into one is dropped
    (``merged_copies``). A paragraph that repeats a kept one word for word is
    boilerplate whatever the model says when its neighbour also repeats that copy's
    neighbour (``repeated_stretch``: the article, a menu or a list of ledes printed a
    second time), or when it repeats the first kept paragraph (the title). Any other
    repeated line (a recipe's "Stir well.", a refrain, the heading after a breadcrumb
    the model dropped) is left to the model, whose features say that it repeats. Out of
    fold, against dropping every repeat, the stretch rule raised wcxb's HTML token F1 by
    0.002 (235 pages better, 104 worse; paired bootstrap 95% interval +0.001 to +0.003)
    and readability's by 0.029; text mode and scrapinghub moved by less than their
    intervals; the title clause then moved 49 to 50 pages, 44 to 45 of them up (README).
    ``never_empty``: when the kept paragraphs of a document hold fewer than
    ``THIN_WORDS`` words (none at all included) and one paragraph is at least
    ``FALLBACK_FLOOR`` likely wanted, the paragraphs of its most wanted stretch
    (``best_stretch``) that are at least half as wanted as the best one are kept too
    (``thin_fallback``): a page is scraped because it holds something, and an emptied or
    gutted page loses it. Out of fold on the readability corpus, five HTML pages came
    back empty (lone paragraphs the model doubted, an article merged with its byline
    into one block): keeping their stretch raised that corpus's HTML token F1 from 0.870
    to 0.895. A page that kept only six archive links while its article, merged with its
    byline into one block, sat at P(body) 0.46 is the same failure: topping up below
    100 words (counted after the repeat rule) changed 5 pages of the four corpora in both
    modes, out of fold, 4 for the better (README, "Keep or drop"). Half the best, so that
    a short document keeps its doubted lines without the chrome between them ("Listen to
    this article", "6 min read").
    Without a floor, pure chrome ("Share post:", P(body) 0.00) would come back; the
    floor leaves such a document empty.
    """

    keep: frozenset[Label] = field(default=DEFAULT_KEEP)
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    drop_repeats: bool = True
    never_empty: bool = True

    def __post_init__(self) -> None:
        keep = frozenset(Label.parse(str(k)) for k in self.keep)
        if not keep:
            raise ValueError("keep must name at least one label")
        object.__setattr__(self, "keep", keep)
        if not 0.0 <= float(self.min_confidence) <= 1.0:
            raise ValueError(f"min_confidence must be between 0 and 1, got {self.min_confidence}")

    @classmethod
    def build(cls, keep: Iterable[str] | str | None = None,
              min_confidence: float | None = None) -> Policy:
        if isinstance(keep, str):
            keep = keep.split(",")
        return cls(
            keep=frozenset(Label.parse(k) for k in keep if k.strip()) if keep else DEFAULT_KEEP,
            min_confidence=DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence,
        )

    def record(self) -> dict[str, object]:
        """The policy as the model card records it and the service's /v1/model states it."""
        return {"keep": sorted(k.value for k in self.keep),
                "min_confidence": self.min_confidence, "drop_repeats": self.drop_repeats,
                "never_empty": self.never_empty, "fallback_floor": FALLBACK_FLOOR,
                "thin_words": THIN_WORDS}

    def decide(self, texts: Sequence[str], proba: np.ndarray,
               keys: Sequence[str] | None = None) -> tuple[list[Label], list[bool]]:
        """(label, kept) for every paragraph (``keys``: the texts' ``repeat_key``, when
        the caller has them: ``Document.repeat_keys``)."""
        # In LABELS order, as the review page sums them: the same floats in the same order.
        keep_cols = sorted(LABELS.index(k.value) for k in self.keep)
        # Whole-matrix numpy, then plain Python per row: numpy on one row at a time was
        # most of this function's cost.
        best = proba.argmax(axis=1).tolist()
        kept_mass = proba[:, keep_cols].sum(axis=1).tolist()
        if len(texts) != len(best):
            raise ValueError(f"{len(texts)} texts for {len(best)} rows of probabilities")
        keeps_label = [label in self.keep for label in _LABEL_OF]
        min_confidence = self.min_confidence
        labels = [_LABEL_OF[top] for top in best]
        kept = [keeps_label[top] or 1.0 - mass < min_confidence
                for top, mass in zip(best, kept_mass, strict=True)]
        if self.drop_repeats and keys is None:
            keys = [repeat_key(text) for text in texts]

        def copies() -> list[int]:
            if not self.drop_repeats:
                return []
            merged = merged_copies(keys, kept)
            repeated = repeated_stretch(keys, kept)
            return sorted({*repeated, *merged}) if merged else repeated

        repeats = copies()
        if self.never_empty and texts:
            added = thin_fallback(texts, kept, kept_mass, repeats)
            if added:
                for k in added:
                    kept[k] = True
                repeats = copies()  # so that a stretch it adds is kept once too
        # The rule only drops a copy of something kept, so it cannot empty a document.
        for k in repeats:
            labels[k] = Label.BOILERPLATE
            kept[k] = Label.BOILERPLATE in self.keep
        return labels, kept


def repeated_stretch(keys: Sequence[str], kept: Sequence[bool]) -> list[int]:
    """The paragraphs the repeat rule drops: each repeats (same ``repeat_key``) a paragraph
    that is kept and not itself dropped, and either its paragraph before or after repeats
    the one before or after that paragraph's nearest earlier copy, or it repeats the first
    kept paragraph, the title (LABELS.md: a second copy of the title is boilerplate).
    ``kept``: before the rule."""
    if len(set(keys)) == len(keys):  # the common case: nothing repeats
        return []
    title = next((keys[k] for k, keep in enumerate(kept) if keep), None)
    dropped: list[int] = []
    last_at: dict[str, int] = {}
    kept_keys: set[str] = set()
    n = len(keys)
    for k, key in enumerate(keys):
        j = last_at.get(key)
        if (j is not None and key in kept_keys
                and (key == title or (j > 0 and keys[k - 1] == keys[j - 1])
                     or (k + 1 < n and keys[k + 1] == keys[j + 1]))):
            dropped.append(k)
        elif kept[k]:
            kept_keys.add(key)
        last_at[key] = k
    return dropped


def merged_copies(keys: Sequence[str], kept: Sequence[bool]) -> list[int]:
    """The kept paragraphs that are a second copy of kept text merged into one block:
    ``COPY_WORDS`` words or more, at least ``COPY_SHARE`` of them in ``COPY_SOURCES`` or
    more shorter kept paragraphs of ``COPY_SOURCE_WORDS`` words or more, each found whole
    inside it (``keys``: the texts' ``repeat_key``, so white space and case aside).
    ``kept``: before the rule. A candidate whose words times the sources exceed
    ``COPY_MAX_WORK`` is not searched.

    A page's hidden metadata (title, author, tags, dates, and the article again) comes
    out of a text dump as one long line after the article: the repeat rule, which
    compares whole paragraphs, never sees it. Such a block holds several kept paragraphs,
    so it is among the page's longest: only the ``COPY_CANDIDATES`` longest are looked
    at, and the work bound keeps a huge document from costing seconds (20,000 paragraphs
    under three of 5,000 words: 3.1 s unbounded, 0.012 s). Out of fold on every corpus
    page (README, "Library"): two scrapinghub text pages 0.47 -> 0.99, six wcxb
    text pages better (by 0.01 to 0.39), no page worse."""
    # Length first (n words take 2n - 1 characters or more): counting every key's words
    # was most of the rule's cost on a page of hundreds of lines.
    longest = heapq.nlargest(COPY_CANDIDATES, [
        (n, k) for k, (key, keep) in enumerate(zip(keys, kept, strict=True))
        if keep and len(key) >= 2 * COPY_WORDS - 1 and (n := key.count(" ") + 1) >= COPY_WORDS])
    if not longest:
        return []
    # Not padded to word boundaries: a copy may hold the article as escaped markup
    # ("...the report said.</p> <p>Monica Bhatt..."), where a source's edges touch tags;
    # padded, two wcxb copies (8 and 10 sources) were missed.
    sources = [(n, key) for key, keep in zip(keys, kept, strict=True)
               if keep and len(key) >= 2 * COPY_SOURCE_WORDS - 1
               and (n := key.count(" ") + 1) >= COPY_SOURCE_WORDS]
    out = []
    for n, k in longest:
        if n * len(sources) > COPY_MAX_WORK:
            continue
        whole = keys[k]
        inside = [w for w, key in sources if w < n and key in whole]
        if len(inside) >= COPY_SOURCES and sum(inside) >= COPY_SHARE * n:
            out.append(k)
    return sorted(out)


def thin_fallback(texts: Sequence[str], kept: Sequence[bool], wanted: Sequence[float],
                  dropped: Collection[int] = ()) -> list[int]:
    """The paragraphs ``never_empty`` adds: none while the kept ones, less the copies the
    repeat rule drops (``dropped``: a page whose only kept text is printed twice is thin
    once the copy goes), hold ``THIN_WORDS`` words, or while nothing is
    ``FALLBACK_FLOOR`` likely wanted; else those of ``best_stretch`` at least half as
    ``wanted`` as the document's most wanted paragraph."""
    skip = set(dropped)
    words = 0
    for k, (text, keep) in enumerate(zip(texts, kept, strict=True)):
        if keep and k not in skip:
            words += len(text.split())
            if words >= THIN_WORDS:  # most documents: a few paragraphs in
                return []
    top = max(wanted)
    if top < FALLBACK_FLOOR:
        return []
    first, last = best_stretch(texts, wanted)
    return [k for k in range(first, last + 1) if wanted[k] >= top / 2]


def best_stretch(texts: Sequence[str], wanted: Sequence[float]) -> tuple[int, int]:
    """(first, last) paragraph of the run whose words are most wanted: the largest sum of
    (P(wanted) - half the document's highest P(wanted)) x words, as ``mainblock`` finds
    the article's stretch, but against the document's own best rather than 1/2, since
    too little in it reached the threshold. Words, so that a long paragraph the model
    doubted outweighs a menu item it doubted a little less."""
    from .mainblock import main_block  # mainblock imports features, which imports us

    score = np.asarray(wanted, dtype=np.float64)
    words = np.fromiter((len(t.split()) or 1 for t in texts), dtype=np.float64,
                        count=len(texts))
    return main_block((score - score.max() / 2) * words)


_LABEL_OF = [Label(name) for name in LABELS]
