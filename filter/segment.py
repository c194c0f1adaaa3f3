"""Raw input -> Document: paragraphs of text, or block elements of HTML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

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


def _hidden(el: HtmlElement) -> bool:
    attrs = el.attrib
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if el.tag == "input" and str(attrs.get("type", "")).lower() == "hidden":
        return True
    style = attrs.get("style")
    return bool(style) and bool(_HIDDEN_STYLE.search(style))


def _class_tokens(el: HtmlElement) -> tuple[str, ...]:
    attrs = el.attrib
    if "class" not in attrs and "id" not in attrs and "role" not in attrs:
        return ()
    parts = [*(el.get("class") or "").split(), el.get("id") or "", el.get("role") or ""]
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

    element: HtmlElement
    depth: int
    ancestor_classes: tuple[str, ...]
    pieces: list[str] = field(default_factory=list)
    sources: list[HtmlElement] = field(default_factory=list)
    link_chars: int = 0
    emphasis_chars: int = 0


_EMPHASIS = frozenset("b strong em i".split())


@dataclass(frozen=True)
class HtmlBlock:
    """A paragraph with the elements its text came from (for the seed loader's labels)."""

    paragraph: Paragraph
    element: HtmlElement
    sources: tuple[tuple[HtmlElement, int], ...]


def _parse(html: str) -> HtmlElement | None:
    """The page's <body> (or root); None for a page with nothing to parse.

    lxml directly, not beautifulsoup4 over lxml: the same parser and tree, but building
    bs4's tree took half of the time of scoring a page (20 ms of 39 ms on scrapinghub).
    Bytes, not str, so an XML declaration in the text is no error.
    """
    try:
        root = lxml.html.document_fromstring(
            html.encode("utf-8", "replace"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return None
    body = root.find("body")
    return body if body is not None else root


def html_blocks(html: str) -> Iterator[HtmlBlock]:
    """Walk the page once, yielding each block's paragraph with its source elements."""
    root = _parse(html)
    if root is None:
        return
    index = 0
    stack = [_Block(element=root, depth=0, ancestor_classes=())]

    def add(text: str | None, source: HtmlElement, in_link: bool, in_emphasis: bool) -> None:
        if not text:
            return
        block = stack[-1]
        if not text.strip():
            if block.pieces:
                block.pieces.append(" ")
            return
        text = text.replace("\n", " ")
        block.pieces.append(text)
        block.sources.append(source)
        chars = len(text.replace(" ", ""))
        block.link_chars += chars if in_link else 0
        block.emphasis_chars += chars if in_emphasis else 0

    def flush(block: _Block) -> HtmlBlock | None:
        nonlocal index
        if not block.sources:  # most blocks hold only other blocks
            block.pieces.clear()
            return None
        text = "\n".join(
            line for line in (_clean_line(x) for x in "".join(block.pieces).split("\n")) if line
        )
        sources = block.sources[:]
        link_chars, emphasis_chars = block.link_chars, block.emphasis_chars
        block.pieces.clear()
        block.sources.clear()
        block.link_chars = block.emphasis_chars = 0
        if not text:
            return None
        plain = len(text.replace("\n", "").replace(" ", "")) or 1
        para = Paragraph(
            text=text,
            index=index,
            tag=str(block.element.tag),
            link_density=min(1.0, link_chars / plain),
            emphasis=min(1.0, emphasis_chars / plain),
            depth=block.depth,
            classes=_class_tokens(block.element),
            ancestor_classes=block.ancestor_classes,
        )
        index += 1
        counts: dict[int, tuple[HtmlElement, int]] = {}
        for src in sources:
            el, n = counts.get(id(src), (src, 0))
            counts[id(src)] = (el, n + 1)
        return HtmlBlock(paragraph=para, element=block.element, sources=tuple(counts.values()))

    def walk(el: HtmlElement, depth: int, in_link: bool, in_emphasis: bool,
             anc: tuple[str, ...]) -> Iterator[HtmlBlock]:
        add(el.text, el, in_link, in_emphasis)
        for child in el:
            name = child.tag
            if not isinstance(name, str):  # a comment or processing instruction
                add(child.tail, el, in_link, in_emphasis)
                continue
            name = name.lower()
            if name in SKIP_TAGS or _hidden(child):
                pass
            elif name == "br":
                stack[-1].pieces.append("\n")
            elif name in BLOCK_TAGS:
                done = flush(stack[-1])
                if done:
                    yield done
                stack.append(_Block(element=child, depth=depth + 1, ancestor_classes=anc))
                yield from walk(child, depth + 1, in_link, in_emphasis,
                                anc + _class_tokens(child))
                done = flush(stack.pop())
                if done:
                    yield done
            else:
                link = in_link or (name == "a" and child.get("href") is not None)
                emphasis = in_emphasis or name in _EMPHASIS
                yield from walk(child, depth + 1, link, emphasis, anc)
            add(child.tail, el, in_link, in_emphasis)

    yield from walk(root, 0, False, False, _class_tokens(root))
    done = flush(stack.pop())
    if done:
        yield done


def segment_html(html: str) -> Document:
    paragraphs = tuple(block.paragraph for block in html_blocks(html))
    return Document(paragraphs=paragraphs, format=Format.HTML, separator=Separator.BLANK)
