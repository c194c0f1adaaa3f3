"""Read, check and write the labeled documents in seeds/ (format: seeds/README.md)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from filter.document import Document, Format, Paragraph, Separator
from filter.errors import AnnotationError
from filter.labels import Label
from filter.segment import html_blocks, text_paragraphs

TEXT_SUFFIX = ".txt"
HTML_SUFFIX = ".html"
LABEL_ATTR = "data-label"
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


# --- text -------------------------------------------------------------------------


@dataclass
class _Pending:
    label: Label
    lines: list[str]
    line_no: int


def parse_text(source: str, name: str) -> LabeledDocument:
    """Parse one annotated text document; AnnotationError names the file and line."""
    separator = Separator.BLANK
    pending: list[_Pending] = []
    for no, line in enumerate(source.splitlines(), 1):
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
    _check_repeats(name, texts, [p.label for p in pending], [p.line_no for p in pending])
    paragraphs = tuple(Paragraph(text=text, index=i, tag=tag)
                       for i, (tag, text) in enumerate(parts))
    document = Document(paragraphs=paragraphs, format=Format.TEXT, separator=found_sep)
    return LabeledDocument(name, document, tuple(p.label for p in pending), raw)


def _check_repeats(name: str, texts: Sequence[str], labels: Sequence[Label],
                   lines: Sequence[int | None]) -> None:
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
    _check_repeats(name, [p.text for p in paragraphs], labels,
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
