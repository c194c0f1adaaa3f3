"""Raw input -> Document: paragraphs of text, or block elements of HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag

from .document import Document, Format, Paragraph, Separator

_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")
HEADING = re.compile(r"^#{1,6}\s")
LIST_ITEM = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+\S")
_SPACES = re.compile(r"[ \t\f\v\r\u00a0\u2000-\u200b\u3000]+")

# A document is taken for HTML when it opens like a page, or when markup is dense.
_HTML_START = re.compile(r"^\s*(?:<!doctype\s+html|<html|<\?xml|<head|<body)", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"<(?:p|div|br|span|a|li|ul|h[1-6]|body|head|table|article|section|nav|footer|header|main)"
    r"\b[^>]*>",
    re.IGNORECASE,
)
_HTML_TAGS_NEEDED = 8


def detect_format(raw: str) -> Format:
    """HTML when the input opens like a page or with a known tag, or is dense with tags.

    Text that merely mentions a tag ("use <p> here") stays text.
    """
    if _HTML_START.match(raw):
        return Format.HTML
    head = raw[:20_000]
    stripped = head.lstrip()
    if stripped.startswith("<") and _HTML_TAG.match(stripped):
        return Format.HTML
    return Format.HTML if len(_HTML_TAG.findall(head)) >= _HTML_TAGS_NEEDED else Format.TEXT


def segment(raw: str, fmt: Format | str | None = None) -> Document:
    """Split ``raw`` into a Document; ``fmt`` None or "auto" detects the format."""
    if fmt is None or fmt == "auto":
        fmt = detect_format(raw)
    fmt = Format(fmt)
    return segment_html(raw) if fmt is Format.HTML else segment_text(raw)


# --- text -------------------------------------------------------------------------


def _clean_line(line: str) -> str:
    return _SPACES.sub(" ", line).strip()


def _line_tag(line: str) -> str:
    if HEADING.match(line):
        return "heading"
    if LIST_ITEM.match(line):
        return "item"
    return "text"


def text_paragraphs(raw: str) -> tuple[Separator, list[tuple[str, str]]]:
    """(separator, [(tag, text)]): the rules shared by the segmenter and the seed loader.

    Blank lines separate paragraphs when the text has any; otherwise every line is one.
    Markdown headings and list items always stand alone, even inside a block.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if _BLANK_LINE.search(text.strip()):
        out: list[tuple[str, str]] = []
        for block in _BLANK_LINE.split(text):
            pending: list[str] = []
            for line in (_clean_line(x) for x in block.split("\n")):
                if not line:
                    continue
                tag = _line_tag(line)
                if tag == "text":
                    pending.append(line)
                    continue
                if pending:
                    out.append(("text", "\n".join(pending)))
                    pending = []
                out.append((tag, line))
            if pending:
                out.append(("text", "\n".join(pending)))
        return Separator.BLANK, out
    lines = (_clean_line(x) for x in text.split("\n"))
    return Separator.LINE, [(_line_tag(line), line) for line in lines if line]


def segment_text(raw: str) -> Document:
    separator, parts = text_paragraphs(raw)
    paragraphs = tuple(
        Paragraph(text=text, index=i, tag=tag) for i, (tag, text) in enumerate(parts)
    )
    return Document(paragraphs=paragraphs, format=Format.TEXT, separator=separator)


# --- HTML -------------------------------------------------------------------------

# Never visible text.
SKIP_TAGS = frozenset(
    "head script style noscript template svg iframe canvas select object embed math".split()
)
BLOCK_TAGS = frozenset(
    """p h1 h2 h3 h4 h5 h6 li blockquote pre td th dt dd figcaption caption div section
    article aside header footer nav main form ul ol dl table tr tbody thead tfoot figure
    address details summary label button textarea fieldset legend center hr body html
    dialog menu output""".split()
)
_CLASS_SPLIT = re.compile(r"[^a-zA-Z0-9]+|(?<=[a-z])(?=[A-Z])")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_MAX_CLASS_TOKENS = 12


def _hidden(tag: Tag) -> bool:
    attrs = tag.attrs
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if tag.name == "input" and str(attrs.get("type", "")).lower() == "hidden":
        return True
    style = attrs.get("style")
    return bool(style) and bool(_HIDDEN_STYLE.search(str(style)))


def _class_tokens(tag: Tag) -> tuple[str, ...]:
    raw = tag.attrs.get("class") or []
    if isinstance(raw, str):
        raw = raw.split()
    parts = [*raw, str(tag.attrs.get("id") or ""), str(tag.attrs.get("role") or "")]
    tokens: list[str] = []
    for part in parts:
        for tok in _CLASS_SPLIT.split(part):
            tok = tok.lower()
            if len(tok) >= 2 and not tok.isdigit() and tok not in tokens:
                tokens.append(tok)
    return tuple(tokens[:_MAX_CLASS_TOKENS])


@dataclass
class _Block:
    """The innermost block element while its text is being gathered."""

    tag: Tag
    depth: int
    ancestor_classes: tuple[str, ...]
    pieces: list[str] = field(default_factory=list)
    sources: list[Tag] = field(default_factory=list)
    link_chars: int = 0
    emphasis_chars: int = 0


_EMPHASIS = frozenset("b strong em i".split())


@dataclass(frozen=True)
class HtmlBlock:
    """A paragraph with the text nodes it came from (for the seed loader's labels)."""

    paragraph: Paragraph
    element: Tag
    sources: tuple[tuple[Tag, int], ...]


def _parse(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def html_blocks(html: str) -> Iterator[HtmlBlock]:
    """Walk the page once, yielding each block's paragraph with its source elements."""
    soup = _parse(html)
    root = soup.body or soup
    index = 0
    stack: list[_Block] = []

    def flush(block: _Block) -> HtmlBlock | None:
        nonlocal index
        text = "\n".join(
            line for line in (_clean_line(x) for x in "".join(block.pieces).split("\n")) if line
        )
        sources = tuple(block.sources)
        block.pieces.clear()
        block.sources.clear()
        link_chars, block.link_chars = block.link_chars, 0
        emphasis_chars, block.emphasis_chars = block.emphasis_chars, 0
        if not text:
            return None
        plain = len(text.replace("\n", "").replace(" ", "")) or 1
        para = Paragraph(
            text=text,
            index=index,
            tag=block.tag.name,
            link_density=min(1.0, link_chars / plain),
            emphasis=min(1.0, emphasis_chars / plain),
            depth=block.depth,
            classes=_class_tokens(block.tag),
            ancestor_classes=block.ancestor_classes,
        )
        index += 1
        counts: dict[int, tuple[Tag, int]] = {}
        for src in sources:
            tag, n = counts.get(id(src), (src, 0))
            counts[id(src)] = (tag, n + 1)
        return HtmlBlock(paragraph=para, element=block.tag, sources=tuple(counts.values()))

    def walk(node: Tag, depth: int, in_link: bool, in_emphasis: bool,
             anc: tuple[str, ...]) -> Iterator[HtmlBlock]:
        for child in node.children:
            if isinstance(child, NavigableString):
                if isinstance(child, Comment | Doctype) or type(child) is not NavigableString:
                    continue
                text = str(child)
                if not text.strip():
                    if stack[-1].pieces:
                        stack[-1].pieces.append(" ")
                    continue
                text = text.replace("\n", " ")
                stack[-1].pieces.append(text)
                stack[-1].sources.append(node)
                if in_link:
                    stack[-1].link_chars += len(text.replace(" ", ""))
                if in_emphasis:
                    stack[-1].emphasis_chars += len(text.replace(" ", ""))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in SKIP_TAGS or _hidden(child):
                continue
            if name == "br":
                stack[-1].pieces.append("\n")
                continue
            if name in BLOCK_TAGS:
                done = flush(stack[-1])
                if done:
                    yield done
                own = _class_tokens(child)
                stack.append(_Block(tag=child, depth=depth + 1, ancestor_classes=anc))
                yield from walk(child, depth + 1, in_link, in_emphasis, anc + own)
                done = flush(stack.pop())
                if done:
                    yield done
            else:
                link = in_link or (name == "a" and child.has_attr("href"))
                emphasis = in_emphasis or name in _EMPHASIS
                yield from walk(child, depth + 1, link, emphasis, anc)

    if isinstance(root, Tag) and root.name:
        stack.append(_Block(tag=root, depth=0, ancestor_classes=()))
        yield from walk(root, 0, False, False, _class_tokens(root))
        done = flush(stack.pop())
        if done:
            yield done


def segment_html(html: str) -> Document:
    paragraphs = tuple(block.paragraph for block in html_blocks(html))
    return Document(paragraphs=paragraphs, format=Format.HTML, separator=Separator.BLANK)
