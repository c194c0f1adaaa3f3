"""The four paragraph labels, defined once (see LABELS.md)."""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    BODY = "body"
    BOILERPLATE = "boilerplate"
    TRANSCRIPT = "transcript"
    PROMO = "promo"

    @classmethod
    def parse(cls, value: str) -> Label:
        """The label named by ``value``, or a ValueError that lists the valid names."""
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(
                f"unknown label {value!r} (expected one of: {', '.join(LABELS)})"
            ) from None


# Column order of every probability matrix the model produces.
LABELS: tuple[str, ...] = tuple(label.value for label in Label)


def parse_labels(spec: str) -> frozenset[Label]:
    """``"body,transcript"`` -> {Label.BODY, Label.TRANSCRIPT}; empty names are refused."""
    names = [part for part in (p.strip() for p in spec.split(",")) if part]
    if not names:
        raise ValueError("no labels given (expected e.g. 'body' or 'body,transcript')")
    return frozenset(Label.parse(name) for name in names)
