"""The seed text annotation format (seeds/README.md): write it, and read it back.

One implementation for both sides: the training code (``training.annotations``, which
re-exports these) and the service's review page (``service.review``), which is installed
without ``training``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .document import Document, Format, Paragraph, Separator
from .errors import AnnotationError
from .labels import Label
from .segment import composed, text_paragraphs

LABEL_WIDTH = max(len(label.value) for label in Label)

_LINE = re.compile(r"^(\S*)\s*\|(.*)$")
_FOLD = re.compile(r"\s+")


@dataclass(frozen=True)
class LabeledDocument:
    name: str
    document: Document
    labels: tuple[Label, ...]
    raw: str  # what contamfilter would be given: the rebuilt text, or the page

    def __post_init__(self) -> None:
        assert len(self.labels) == len(self.document), self.name


def _fold(text: str) -> str:
    return _FOLD.sub(" ", text).strip().casefold()


@dataclass
class _Pending:
    label: Label
    lines: list[str]
    line_no: int


def parse_text(source: str, name: str) -> LabeledDocument:
    """Parse one annotated text document; AnnotationError names the file and line."""
    separator = Separator.BLANK
    pending: list[_Pending] = []
    # Composed as the segmenter composes it, so a paragraph compares with its rebuilt self.
    for no, line in enumerate(composed(source).splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("@"):
            key, _, value = line[1:].partition(":")
            if key.strip() != "separator":
                raise AnnotationError(
                    name, no, f"unknown setting '@{key.strip()}' (only '@separator')")
            try:
                separator = Separator(value.strip())
            except ValueError:
                raise AnnotationError(
                    name, no, f"separator must be 'blank' or 'line', not {value.strip()!r}"
                ) from None
            continue
        m = _LINE.match(line)
        if not m:
            raise AnnotationError(name, no, "expected 'label | text'")
        label_name, text = m.group(1), m.group(2).strip()
        if not text:
            raise AnnotationError(name, no, "empty paragraph")
        if not label_name:
            if not pending:
                raise AnnotationError(name, no, "continuation line with no paragraph above it")
            if separator is Separator.LINE:
                raise AnnotationError(
                    name, no, "continuation line in a '@separator: line' document, where "
                    "every line is a paragraph of its own")
            pending[-1].lines.append(text)
            continue
        try:
            label = Label.parse(label_name)
        except ValueError as exc:
            raise AnnotationError(name, no, str(exc)) from None
        pending.append(_Pending(label, [text], no))
    if not pending:
        raise AnnotationError(name, None, "no labeled paragraphs")

    texts = ["\n".join(p.lines) for p in pending]
    raw = separator.joiner.join(texts) + "\n"
    found_sep, parts = text_paragraphs(raw)
    for k, (p, text) in enumerate(zip(pending, texts, strict=False)):
        if k >= len(parts) or parts[k][1] != text:
            seen = parts[k][1] if k < len(parts) else "(nothing)"
            raise AnnotationError(
                name, p.line_no, "this paragraph is not a paragraph of the rebuilt document: "
                f"segmentation reads {seen[:60]!r} here (headings and list items stand alone)")
    if len(parts) != len(pending):
        raise AnnotationError(name, None, f"segmentation finds {len(parts)} paragraphs, "
                              f"the file labels {len(pending)}")
    check_repeats(name, texts, [p.label for p in pending], [p.line_no for p in pending])
    paragraphs = tuple(Paragraph(text=text, index=i, tag=tag)
                       for i, (tag, text) in enumerate(parts))
    document = Document(paragraphs=paragraphs, format=Format.TEXT, separator=found_sep)
    return LabeledDocument(name, document, tuple(p.label for p in pending), raw)


def check_repeats(name: str, texts: Sequence[str], labels: Sequence[Label],
                  lines: Sequence[int | None]) -> None:
    """Refuse a paragraph that repeats an earlier one word for word and is labeled body."""
    seen: set[str] = set()
    for text, label, line in zip(texts, labels, lines, strict=True):
        key = _fold(text)
        if key in seen and label is Label.BODY:
            raise AnnotationError(name, line, "repeats an earlier paragraph word for word but "
                                  "is labeled body (a second copy is boilerplate)")
        seen.add(key)


def format_text(texts: Sequence[str], labels: Sequence[Label | str],
                separator: Separator = Separator.BLANK, comment: str | None = None) -> str:
    """The annotation file for a document: what the loader reads back unchanged."""
    out = []
    if comment:
        out += [f"# {line}" for line in comment.splitlines()]
    out.append(f"@separator: {Separator(separator).value}")
    for text, label in zip(texts, labels, strict=True):
        first, *rest = text.split("\n")
        out.append(f"{Label(label).value:<{LABEL_WIDTH}} | {first}")
        out += [f"{'':<{LABEL_WIDTH}} | {line}" for line in rest]
    return "\n".join(out) + "\n"
