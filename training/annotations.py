"""Read, check and write the labeled documents in seeds/ (format: seeds/README.md)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import astuple
from pathlib import Path

from filter.document import Document, Format, Paragraph
from filter.errors import AnnotationError
from filter.labels import Label

# The text format lives in the library, so that the service (installed without this
# package) writes seed files with the same code that reads them here.
from filter.seedfile import (
    LABEL_WIDTH,
    LabeledDocument,
    check_repeats,
    format_text,
    parse_text,
)
from filter.segment import html_blocks

__all__ = [
    "HTML_SUFFIX", "LABEL_ATTR", "LABEL_WIDTH", "TEXT_SUFFIX", "LabeledDocument",
    "format_text", "load_file", "load_seeds", "parse_html", "parse_text", "seed_files",
    "seed_paragraphs_hash", "seeds_hash",
]

TEXT_SUFFIX = ".txt"
HTML_SUFFIX = ".html"
LABEL_ATTR = "data-label"


# --- HTML -------------------------------------------------------------------------


def _line_of(html: str, text: str) -> int | None:
    """Best-effort line of a paragraph in the page (lxml keeps no source lines)."""
    words = re.findall(r"\w+", text)[:4]
    if not words:
        return None
    m = re.search(r"\W+(?:<[^>]*>\W*)*".join(map(re.escape, words)), html)
    return html.count("\n", 0, m.start()) + 1 if m else None


def parse_html(html: str, name: str) -> LabeledDocument:
    paragraphs: list[Paragraph] = []
    labels: list[Label] = []
    for block in html_blocks(html):
        votes: Counter[Label] = Counter()
        for element, count in block.sources:
            node = element
            while node is not None:
                value = node.get(LABEL_ATTR)
                if value is not None:
                    try:
                        votes[Label.parse(str(value))] += count
                    except ValueError as exc:
                        raise AnnotationError(name, _line_of(html, block.paragraph.text),
                                              str(exc)) from None
                    break
                node = node.getparent()
        text = block.paragraph.text
        if not votes:
            raise AnnotationError(name, _line_of(html, text),
                                  f"paragraph {text[:50]!r} has no {LABEL_ATTR} on it or "
                                  "any element around it")
        paragraphs.append(block.paragraph)
        labels.append(votes.most_common(1)[0][0])
    if not paragraphs:
        raise AnnotationError(name, None, "page has no visible text")
    check_repeats(name, [p.text for p in paragraphs], labels,
                   [_line_of(html, p.text) for p in paragraphs])
    document = Document(paragraphs=tuple(paragraphs), format=Format.HTML)
    return LabeledDocument(name, document, tuple(labels), html)


# --- the folder -------------------------------------------------------------------


def seed_files(directory: Path) -> list[Path]:
    files = [p for p in directory.rglob("*") if p.suffix in (TEXT_SUFFIX, HTML_SUFFIX)]
    return sorted(files, key=lambda p: p.relative_to(directory).as_posix())


def load_file(path: Path, name: str | None = None) -> LabeledDocument:
    name = name or str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise AnnotationError(name, None, f"not UTF-8 text ({exc.reason})") from None
    return parse_html(source, name) if path.suffix == HTML_SUFFIX else parse_text(source, name)


def load_seeds(directory: Path) -> list[LabeledDocument]:
    files = seed_files(directory)
    if not files:
        raise AnnotationError(str(directory), None, "no labeled documents (*.txt, *.html)")
    return [load_file(p, p.relative_to(directory.parent).as_posix()) for p in files]


def seeds_hash(directory: Path) -> str:
    """sha256 over every labeled file's relative path and bytes: the training data's id."""
    digest = hashlib.sha256()
    for path in seed_files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def seed_paragraphs_hash(docs: Sequence[LabeledDocument]) -> str:
    """sha256 over what training reads from the seeds: every paragraph's text, block facts
    and label, document by document.

    ``seeds_hash`` changes when a seed file does; this one also changes when the code that
    reads the files does (segmentation, the seed formats), which gives the model other
    paragraphs from the same bytes.
    """
    digest = hashlib.sha256()
    for doc in docs:
        d = doc.document
        digest.update(json.dumps([doc.name, d.format.value, d.separator.value]).encode())
        for para, label in zip(d.paragraphs, doc.labels, strict=True):
            digest.update(json.dumps([label.value, *astuple(para)]).encode() + b"\n")
    return digest.hexdigest()
