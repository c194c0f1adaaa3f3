"""What scoring a document returns: per-paragraph verdicts and the clean text."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .labels import LABELS, Label

if TYPE_CHECKING:
    from .explain import Reason


@dataclass(frozen=True, slots=True)
class ScoredParagraph:
    text: str
    label: Label
    scores: dict[str, float]
    kept: bool
    reasons: tuple[Reason, ...] | None = None  # when asked for (explain=True)

    def to_dict(self) -> dict[str, Any]:
        # _value_, not the value property: a Python-level call, half of this method's cost.
        out = {"text": self.text, "label": self.label._value_, "scores": self.scores,
               "kept": self.kept}
        if self.reasons is not None:
            out["reasons"] = [r.to_dict() for r in self.reasons]
        return out


@dataclass(frozen=True, slots=True)
class Result:
    paragraphs: tuple[ScoredParagraph, ...]
    clean_text: str
    model_version: str

    @property
    def counts(self) -> dict[str, int]:
        """Paragraphs per label, every label present (zero when absent)."""
        tally = Counter(map(_label, self.paragraphs))  # a Label is a str: its name finds it
        return {name: tally[name] for name in LABELS}

    @property
    def contamination(self) -> float:
        """Share of the document's characters that were removed."""
        total = sum(len(p.text) for p in self.paragraphs)
        removed = sum(len(p.text) for p in self.paragraphs if not p.kept)
        return round(removed / total, 6) if total else 0.0

    @property
    def dropped(self) -> tuple[ScoredParagraph, ...]:
        return tuple(p for p in self.paragraphs if not p.kept)

    def report(self, paragraphs: bool = True) -> dict[str, Any]:
        """The fields every shell adds to a document: the `score` contract (without
        ``paragraphs``, what `clean` adds)."""
        out: dict[str, Any] = {"paragraphs": [p.to_dict() for p in self.paragraphs]
                               } if paragraphs else {}
        out["clean_text"] = self.clean_text
        out["counts"] = self.counts
        out["contamination"] = self.contamination
        out["model"] = self.model_version
        return out


_label = attrgetter("label")
