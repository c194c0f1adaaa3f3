"""Keep or drop: what the caller wants, applied to the model's probabilities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .labels import LABELS, Label

DEFAULT_KEEP = frozenset({Label.BODY})
# Drop only when the unwanted labels together are more likely than the wanted ones.
DEFAULT_MIN_CONFIDENCE = 0.5

def repeat_key(text: str) -> str:
    """What two paragraphs share when one repeats the other word for word: white space
    and case folded (the policy's repeat rule, and the feature that mirrors it)."""
    # Every whitespace character but " " is unprintable, so a printable text without
    # doubled or edge spaces is already split-joined: skip that, most of decide's cost.
    if text.isprintable() and "  " not in text and text[:1] != " " != text[-1:]:
        return text.casefold()
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Policy:
    """Which labels to keep, and how sure the model must be before it drops a paragraph.

    ``min_confidence``: a paragraph whose label is not kept is still kept unless the
    probability of the labels not kept reaches this value.
    ``drop_repeats``: a paragraph that repeats an earlier one word for word (the second
    copy of a title, a repeated widget line) is boilerplate whatever the model says.
    """

    keep: frozenset[Label] = field(default=DEFAULT_KEEP)
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    drop_repeats: bool = True

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

    def decide(self, texts: Sequence[str], proba: np.ndarray) -> tuple[list[Label], list[bool]]:
        """(label, kept) for every paragraph."""
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
        if self.drop_repeats:
            keys = [repeat_key(text) for text in texts]
            if len(set(keys)) < len(keys):  # walk the paragraphs only when some repeat
                seen: set[str] = set()
                for k, key in enumerate(keys):
                    if key in seen:
                        labels[k] = Label.BOILERPLATE
                        kept[k] = Label.BOILERPLATE in self.keep
                    seen.add(key)
        return labels, kept


_LABEL_OF = [Label(name) for name in LABELS]
