"""The values that flow through the pipeline: paragraphs and documents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class Format(StrEnum):
    TEXT = "text"
    HTML = "html"


class Separator(StrEnum):
    """How a text document separates paragraphs; clean text is joined the same way."""

    BLANK = "blank"
    LINE = "line"

    @property
    def joiner(self) -> str:
        return "\n\n" if self is Separator.BLANK else "\n"


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One unit of a document, with the block facts its markup gave it.

    Text input has ``tag`` "text", "heading" or "item" (markdown heading, list item);
    HTML input has the tag of the innermost block element that holds the text.
    """

    text: str
    index: int
    tag: str = "text"
    link_density: float = 0.0
    emphasis: float = 0.0  # share of the text in b/strong/em/i
    depth: int = 0
    classes: tuple[str, ...] = ()
    ancestor_classes: tuple[str, ...] = ()


def repeat_key(text: str) -> str:
    """What two paragraphs share when one repeats the other word for word: white space
    and case folded (the policy's repeat rule, and the feature that mirrors it)."""
    # Every whitespace character but " " is unprintable, so a printable text without
    # doubled or edge spaces is already split-joined: skip that, most of decide's cost.
    if text.isprintable() and "  " not in text and text[:1] != " " != text[-1:]:
        return text.casefold()
    return " ".join(text.split()).casefold()


@dataclass(frozen=True, slots=True)
class Document:
    paragraphs: tuple[Paragraph, ...]
    format: Format = Format.TEXT
    separator: Separator = Separator.BLANK
    metadata: dict = field(default_factory=dict, compare=False)
    _repeat_keys: tuple[str, ...] | None = field(default=None, init=False, repr=False,
                                                 compare=False)

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.paragraphs]

    @property
    def repeat_keys(self) -> tuple[str, ...]:
        """``repeat_key`` of each paragraph, made once: the features and the policy's
        repeat rule both read them."""
        keys = self._repeat_keys
        if keys is None:
            keys = tuple([repeat_key(p.text) for p in self.paragraphs])
            object.__setattr__(self, "_repeat_keys", keys)  # a cache, as __init__ sets fields
        return keys

    def __len__(self) -> int:
        return len(self.paragraphs)


class Row(NamedTuple):
    """One paragraph seen from inside its document: what the features read."""

    doc: Document
    index: int
    key: int  # identifies the document among the rows of one call

    @property
    def paragraph(self) -> Paragraph:
        return self.doc.paragraphs[self.index]


def rows_of(documents: Iterable[Document]) -> list[Row]:
    return [Row(doc, i, key) for key, doc in enumerate(documents) for i in range(len(doc))]
