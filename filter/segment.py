"""Raw input -> Document: paragraphs of text, or block elements of HTML."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, fields

from lxml import etree

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
    # Both rules below need a '<' in the head: plain text is settled without its copy.
    if raw.find("<", 0, 20_000) < 0:
        return Format.TEXT
    head = raw[:20_000]
    stripped = head.lstrip()
    if stripped.startswith("<") and _HTML_TAG.match(stripped):
        return Format.HTML
    return Format.HTML if len(_HTML_TAG.findall(head)) >= _HTML_TAGS_NEEDED else Format.TEXT


_SOFT_HYPHEN = "\u00ad"


def composed(text: str) -> str:
    """``text`` in Unicode's composed form (NFC) and without soft hyphens, the form
    trafilatura's output and the corpora's snippets are in. Written decomposed (u and a
    combining diaeresis), "ü" splits a word into two ``\\w`` tokens and matches no snippet
    or search typed composed. A soft hyphen (U+00AD) is an invisible hint where a line may
    break; German sites put one in every long word ("Mag\\xadda\\xadle\\xadner"), and kept,
    it cuts each such word into pieces for the model, a search and a reader's copy and
    paste alike. ASCII (O(1) to tell) has neither."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", text.replace(_SOFT_HYPHEN, ""))


def segment(raw: str, fmt: Format | str | None = None) -> Document:
    """Split ``raw`` into a Document; ``fmt`` None or "auto" detects the format."""
    if fmt is None or fmt == "auto":
        fmt = detect_format(raw)
    fmt = Format(fmt)
    return segment_html(raw) if fmt is Format.HTML else segment_text(raw)


# --- text -------------------------------------------------------------------------

# Characters of _SPACES other than the plain space: a line without any of them, and
# without two spaces in a row, is left as it is by _SPACES.sub. That sub makes a match
# per space of the line (most of the cost of segmenting text), so it runs only on lines
# where it changes something; str `in` tests are cheap, and a non-ASCII line (isascii is
# O(1)) is searched for the rest of the set.
_ODD_SPACE = re.compile(r"[\t\f\v\r\u00a0\u2000-\u200b\u3000]")


def _clean_line(line: str) -> str:
    if "  " in line or (
        _ODD_SPACE.search(line) is not None
        if not line.isascii()
        else "\t" in line or "\f" in line or "\v" in line or "\r" in line
    ):
        line = _SPACES.sub(" ", line)
    return line.strip()


def _line_tag(line: str) -> str:
    # A stripped, non-empty line: the first character rules out most lines before any
    # regex runs (a heading opens with '#', a list item with a bullet or a digit; isdigit
    # is a superset of the regex's \d).
    first = line[0]
    if first == "#" and HEADING.match(line):
        return "heading"
    if (first in "-*+•" or first.isdigit()) and LIST_ITEM.match(line):
        return "item"
    return "text"


def text_paragraphs(raw: str) -> tuple[Separator, list[tuple[str, str]]]:
    """(separator, [(tag, text)]): the rules shared by the segmenter and the seed loader.

    Blank lines separate paragraphs when the text has any; otherwise every line is one.
    Markdown headings and list items always stand alone, even inside a block.
    """
    raw = composed(raw)
    # Searching for the two-character "\r\n" scans the text slowly; "\r" is found fast.
    text = raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw
    text = text.lstrip("\ufeff")
    clean, tag_of = _clean_line, _line_tag
    if _BLANK_LINE.search(text.strip()):
        out: list[tuple[str, str]] = []
        for block in _BLANK_LINE.split(text):
            pending: list[str] = []
            for x in block.split("\n"):
                line = clean(x)
                if not line:
                    continue
                tag = tag_of(line)
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
    lines = [clean(x) for x in text.split("\n")]
    return Separator.LINE, [(tag_of(line), line) for line in lines if line]


def segment_text(raw: str) -> Document:
    separator, parts = text_paragraphs(raw)
    # Positional arguments into a list: keywords and a generator took a sixth longer here.
    paragraphs = tuple([Paragraph(text, i, tag) for i, (tag, text) in enumerate(parts)])
    return Document(paragraphs=paragraphs, format=Format.TEXT, separator=separator)


# --- HTML -------------------------------------------------------------------------

# Never visible text; and ruby's pronunciation guide (rt, with the rp parentheses for
# browsers without ruby), printed small above CJK words: read in line, it cuts the
# sentence, "虐待<rt>ぎゃくたい</rt>" coming out as "虐待ぎゃくたい".
SKIP_TAGS = frozenset(
    "head script style noscript template svg iframe canvas select object embed math rt rp"
    .split()
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
# An element without any of these attributes is never hidden / has no class tokens.
_HIDING_ATTRS = frozenset(("hidden", "aria-hidden", "type", "style"))
_CLASS_ATTRS = frozenset(("class", "id", "role"))
# Caches bounded so that a long-running service over arbitrary pages cannot grow them.
_CACHE_LIMIT = 50_000


def _hidden(el: etree._Element) -> bool:
    attrs = el.attrib
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if el.tag == "input" and str(attrs.get("type", "")).lower() == "hidden":
        return True
    style = attrs.get("style")
    return bool(style) and bool(_HIDDEN_STYLE.search(style))


_TOKENS: dict[tuple[str, str, str], tuple[str, ...]] = {}


def _class_tokens_python(joined: str, limit: int) -> tuple[str, ...]:
    """Word pieces of ``joined`` (the reference for ``fastwalk.class_tokens``)."""
    tokens: list[str] = []
    for tok in _CLASS_SPLIT.split(joined):
        tok = tok.lower()
        if len(tok) >= 2 and not tok.isdigit() and tok not in tokens:
            tokens.append(tok)
    return tuple(tokens[:limit])


def _tokens_of(key: tuple[str, str, str]) -> tuple[str, ...]:
    # One split of the three values joined by a space gives the pieces of each value (of
    # each whitespace-separated class) in turn: a space is a separator too.
    joined = " ".join(key)
    if fastwalk is not None:
        tokens = fastwalk.class_tokens(joined, _MAX_CLASS_TOKENS)
    else:
        tokens = _class_tokens_python(joined, _MAX_CLASS_TOKENS)
    if len(_TOKENS) >= _CACHE_LIMIT:
        _TOKENS.clear()
    _TOKENS[key] = tokens
    return tokens


def _class_tokens(el: etree._Element) -> tuple[str, ...]:
    """Lower-cased word pieces of the class, id and role attributes (camelCase split).

    Class attributes repeat all over a page, so the tokens are cached by their values.
    """
    if _CLASS_ATTRS.isdisjoint(el.keys()):
        return ()
    key = (el.get("class") or "", el.get("id") or "", el.get("role") or "")
    tokens = _TOKENS.get(key)
    return tokens if tokens is not None else _tokens_of(key)


class _Block:
    """The innermost block element while its text is being gathered."""

    __slots__ = ("ancestor_classes", "classes", "depth", "element", "emphasis_chars",
                 "link_chars", "pieces", "sources")

    def __init__(self, element: etree._Element, depth: int,
                 ancestor_classes: tuple[str, ...], classes: tuple[str, ...]) -> None:
        self.element = element
        self.depth = depth
        self.ancestor_classes = ancestor_classes
        self.classes = classes
        self.pieces: list[str] = []
        self.sources: list[etree._Element] = []
        self.link_chars = 0
        self.emphasis_chars = 0


_EMPHASIS = frozenset("b strong em i".split())

# What the walk does with an element, by its tag as the parser gives it.
_SKIP, _BR, _BLOCK, _LINK, _EMPH, _INLINE = range(6)
_KINDS: dict[str, int] = {}


def _kind(name: str) -> int:
    low = name.lower()
    kind = (_SKIP if low in SKIP_TAGS else _BR if low == "br" else _BLOCK if low in BLOCK_TAGS
            else _LINK if low == "a" else _EMPH if low in _EMPHASIS else _INLINE)
    if len(_KINDS) >= _CACHE_LIMIT:
        _KINDS.clear()
    _KINDS[name] = kind
    return kind


@dataclass(frozen=True)
class HtmlBlock:
    """A paragraph with the elements its text came from (for the seed loader's labels)."""

    paragraph: Paragraph
    element: etree._Element
    sources: tuple[tuple[etree._Element, int], ...]


def _parse(html: str) -> etree._Element | None:
    """The page's <body> (or root); None for a page with nothing to parse.

    lxml directly, not beautifulsoup4 over lxml: the same parser and tree, but building
    bs4's tree took half of the time of scoring a page (20 ms of 39 ms on scrapinghub).
    etree's HTML parser, not lxml.html's: the same tree, without the per-element class
    lookup of lxml.html. Bytes, not str, so an XML declaration in the text is no error.
    """
    data, streamed = _as_a_browser_reads(html.encode("utf-8", "replace"))
    try:
        root = etree.fromstring(data, parser=etree.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return None
    if root is None:
        return None
    if streamed:
        _place_streamed(root)
    body = root.find("body")
    return body if body is not None else root


# Two things a browser reads that libxml2 does not, found in one pass over the bytes the
# parser reads anyway (two passes over the str, one per mark, took _parse from 1.84 to
# about 1.97 ms a page on 100 scrapinghub and wcxb pages):
# - libxml2 ends the document at its first </html> and puts what follows </body> outside
#   <body>; a browser reads both into the body. Some themes close both in their header
#   template and print the article after them.
# - React's streamed server rendering sends a page's late parts, often the whole article,
#   at the end of <body> in <div hidden id="S:N">; a script of the page moves each in place
#   of its <template id="B:N"> and removes the fallback after it, up to the <!--/$-->
#   marker. 14 of wcxb's 790 pages keep their article only there.
# Letters spelled out rather than re.IGNORECASE, which scanned a page at half the speed,
# and both marks after one "<": alternatives without a common first character took the
# scan from 0.2 ms to 2.7 ms a page.
_END_TAG = rb"/(?:[bB][oO][dD][yY]|[hH][tT][mM][lL])\s*>"
_DOCUMENT_END = re.compile(b"<" + _END_TAG)
_MARKS = re.compile(b"<(?:(?P<end>" + _END_TAG + rb')|[dD][iI][vV]\s[^>]*id="S:)')
_STREAMED = etree.XPath('//div[@hidden][starts-with(@id, "S:")]')
_BOUNDARY_END = "/$"


def _as_a_browser_reads(data: bytes) -> tuple[bytes, bool]:
    """(``data`` without its </body> and </html> tags when the page goes on after the first,
    whether it may hold a streamed segment)."""
    first_end, streamed = None, False
    for mark in _MARKS.finditer(data):
        if mark.group("end") is None:
            streamed = True
        elif first_end is None:
            first_end = mark.end()
    if first_end is not None and _DOCUMENT_END.sub(b"", data[first_end:]).strip():
        data = _DOCUMENT_END.sub(b"", data)
    return data, streamed


def _fallback_of(placeholder: etree._Element) -> list[etree._Element] | None:
    """The elements between a streamed segment's placeholder and its boundary's end marker
    (None when there is no marker: then what follows is the page's own)."""
    between: list[etree._Element] = []
    for sibling in placeholder.itersiblings():
        if sibling.tag is etree.Comment and sibling.text == _BOUNDARY_END:
            return between
        between.append(sibling)
    return None


def _place_streamed(root: etree._Element) -> None:
    """Each streamed segment made visible, in its placeholder's place when the page has it."""
    placeholders = {el.get("id"): el for el in root.iter("template")
                    if (el.get("id") or "").startswith("B:")}
    for streamed in _STREAMED(root):
        del streamed.attrib["hidden"]
        placeholder = placeholders.get("B:" + streamed.get("id")[2:])
        parent = None if placeholder is None else placeholder.getparent()
        if parent is None:
            continue
        fallback = _fallback_of(placeholder)
        if fallback is None:
            streamed.tail = placeholder.tail
        else:  # the fallback's text goes with it: its elements' tails and the placeholder's
            for el in fallback:
                parent.remove(el)
            streamed.tail = None
        parent.replace(placeholder, streamed)


# (paragraph, block element, its text's source elements): one block with text.
WalkedBlock = tuple[Paragraph, "etree._Element | None", list["etree._Element"]]


def _block_text_python(joined: str) -> tuple[str, int]:
    """A block's gathered text as its paragraph reads (spaces made one, each line
    stripped, empty lines dropped), and its characters that are neither a line break nor a
    space: the reference for ``fastwalk.block_text``."""
    lines = [x.strip() for x in _SPACES.sub(" ", joined).split("\n")]
    text = "\n".join([x for x in lines if x])
    return text, len(text.replace("\n", "").replace(" ", ""))


def _paragraph_of(pieces: list[str], link_chars: int, emphasis_chars: int, index: int,
                  tag: str, depth: int, classes: tuple[str, ...],
                  ancestor_classes: tuple[str, ...]) -> Paragraph | None:
    """The paragraph a block's gathered text makes (None when it is only white space):
    the Python walk's, and the reference for the compiled walk's (``fastwalk``)."""
    # Each block's text rather than the page: the markup is most of a page's characters
    # (composing a 150 KB page took 0.3 ms, a twentieth of scoring it). Before the white
    # space is collapsed, so that a soft hyphen standing alone leaves no double space.
    joined = composed("".join(pieces))
    text, plain = (_block_text_python(joined) if fastwalk is None
                   else fastwalk.block_text(joined))
    if not text:
        return None
    plain = plain or 1
    return Paragraph(text, index, tag, min(1.0, link_chars / plain),
                     min(1.0, emphasis_chars / plain), depth, classes, ancestor_classes)


def _walk_python(root: etree._Element) -> list[WalkedBlock]:
    """Walk the page once (the reference for ``fastwalk``, and the walk when that module
    was not built)."""
    out: list[WalkedBlock] = []
    kinds = _KINDS

    def add(block: _Block, text: str, source: etree._Element, in_link: bool,
            in_emphasis: bool) -> None:
        if not text.strip():
            if block.pieces:
                block.pieces.append(" ")
            return
        text = text.replace("\n", " ")
        block.pieces.append(text)
        block.sources.append(source)
        if in_link or in_emphasis:
            chars = len(text.replace(" ", ""))
            if in_link:
                block.link_chars += chars
            if in_emphasis:
                block.emphasis_chars += chars

    def flush(block: _Block) -> None:
        sources = block.sources
        if not sources:  # most blocks hold only other blocks
            if block.pieces:
                block.pieces = []
            return
        para = _paragraph_of(block.pieces, block.link_chars, block.emphasis_chars, len(out),
                             str(block.element.tag), block.depth, block.classes,
                             block.ancestor_classes)
        if para is not None:
            out.append((para, block.element, sources))
        block.pieces = []
        block.sources = []
        block.link_chars = block.emphasis_chars = 0

    def walk(el: etree._Element, block: _Block, depth: int, in_link: bool, in_emphasis: bool,
             anc: tuple[str, ...]) -> None:
        text = el.text
        if text:
            add(block, text, el, in_link, in_emphasis)
        for child in el:
            name = child.tag
            if not isinstance(name, str):  # a comment or processing instruction
                tail = child.tail
                if tail:
                    add(block, tail, el, in_link, in_emphasis)
                continue
            kind = kinds.get(name)
            if kind is None:
                kind = _kind(name)
            if kind != _SKIP:
                keys = child.keys()
                if keys and not _HIDING_ATTRS.isdisjoint(keys) and _hidden(child):
                    pass
                elif kind == _BR:
                    block.pieces.append("\n")
                elif kind == _BLOCK:
                    flush(block)
                    classes = _class_tokens(child) if keys else ()
                    inner = _Block(child, depth + 1, anc, classes)
                    walk(child, inner, depth + 1, in_link, in_emphasis, anc + classes)
                    flush(inner)
                elif kind == _LINK:
                    walk(child, block, depth + 1, in_link or child.get("href") is not None,
                         in_emphasis, anc)
                else:
                    walk(child, block, depth + 1, in_link, in_emphasis or kind == _EMPH, anc)
            tail = child.tail
            if tail:
                add(block, tail, el, in_link, in_emphasis)

    classes = _class_tokens(root)
    top = _Block(root, 0, (), classes)
    walk(root, top, 0, False, False, classes)
    flush(top)
    return out


try:
    from . import fastwalk
except ImportError:  # pragma: no cover - installed without building it (no C compiler)
    fastwalk = None
else:
    fastwalk.configure(_KINDS, _kind, _TOKENS, _tokens_of, _HIDDEN_STYLE.search, Paragraph,
                       tuple(f.name for f in fields(Paragraph)), composed,
                       _SKIP, _BR, _BLOCK, _LINK, _EMPH)


def _walk(html: str, want_sources: bool = False) -> list[WalkedBlock]:
    """Every block of the page with text; its element and sources only if asked."""
    root = _parse(html)
    if root is None:
        return []
    if fastwalk is not None:
        return fastwalk.walk(root, want_sources)
    return _walk_python(root)


def html_blocks(html: str) -> Iterator[HtmlBlock]:
    """Walk the page once, yielding each block's paragraph with its source elements."""
    for para, element, sources in _walk(html, want_sources=True):
        counts: dict[int, tuple[etree._Element, int]] = {}
        for src in sources:
            el, n = counts.get(id(src), (src, 0))
            counts[id(src)] = (el, n + 1)
        yield HtmlBlock(paragraph=para, element=element, sources=tuple(counts.values()))


def segment_html(html: str) -> Document:
    paragraphs = tuple([para for para, _element, _sources in _walk(html)])
    return Document(paragraphs=paragraphs, format=Format.HTML, separator=Separator.BLANK)
