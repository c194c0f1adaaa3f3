"""The whole-call feature builders against plain, one-paragraph-at-a-time references."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filter.document import rows_of
from filter.features import WORD_PATTERN, _tfidf, row_texts
from filter.segment import HEADING, LIST_ITEM
from filter.shape import (
    BOLD_SPEAKER,
    DATE,
    ELLIPSIS,
    QUOTE,
    SENTENCE_END,
    SHAPE_NAMES,
    SPEAKER,
    STOP,
    TEMPLATE,
    URL,
    WORD,
    char_classes,
    shape_table,
    shape_vector,
)


def plain_shape(text: str) -> list[float]:
    """SHAPE_NAMES and the number of words of one text, written as plainly as possible."""
    n = len(text) or 1
    words = WORD.findall(text)
    nw = len(words)
    upper, alpha, digits, punct = char_classes(text)
    letters = (upper + alpha) or 1
    low = text.lower()
    caps = sum(w[0].isupper() for w in words) / nw if nw else 0.0
    stops = sum(w.lower() in STOP for w in words) / nw if nw else 0.0
    mean_len = sum(len(w) for w in words) / nw if nw else 0.0
    stripped = text.rstrip()
    last = stripped[-1:]
    ellipsis = bool(ELLIPSIS.search(stripped))
    first = text[:1]
    flag = float
    return [
        math.log1p(len(text)) / 8, math.log1p(nw) / 6, flag(nw <= 1), flag(nw <= 3),
        flag(nw >= 40), upper / letters, digits / n, punct / n, caps, stops,
        min(mean_len, 15) / 15, math.log1p(len(SENTENCE_END.findall(text))) / 3,
        flag(last == "." and not ellipsis), flag(ellipsis), flag(last == "?"),
        flag(last == "!"), flag(last == ":"),
        flag(bool(last) and last not in ".!?:…\"'”’)"), flag(ellipsis and nw <= 30),
        flag(bool(SPEAKER.match(text))), flag(bool(BOLD_SPEAKER.match(text))),
        flag(bool(HEADING.match(text))), flag(bool(LIST_ITEM.match(text))),
        flag(bool(URL.search(low))), flag(bool(DATE.search(low))),
        flag(bool(TEMPLATE.search(low))), flag(bool(QUOTE.search(text))),
        flag(letters > 3 and upper / letters > 0.8), flag(first.isdigit()), float(nw),
    ]


def check_shape(texts):
    expected = np.array([plain_shape(t) for t in texts]).reshape(len(texts), len(SHAPE_NAMES) + 1)
    assert np.array_equal(shape_table(texts), expected)


def test_shape_table_is_the_plain_measure_on_every_seed_paragraph(seeds):
    check_shape([p.text for s in seeds.values() for p in s.document.paragraphs])


# Pieces every column reacts to: endings, speaker tags, headings, list items, links,
# dates, template junk, quotes, capitals, non-ASCII letters, digits and spaces.
_PIECES = st.sampled_from([
    "a", "Word", "THE", "the", " ", "  ", "\n", "\t", ".", "...", "…", "[…]", "?", "!",
    ":", "'", "\"", "“", "”", "’", ")", "]", "*", "**Host:**", "__A:__", "Dr. X:", "Q:",
    "# ", "## ", "- ", "* ", "• ", "1. ", "12) ", "http://x", "www.", ".com", ".org",
    "2024-01-02", "3/4/25", "Jan 12", "sept. 3", "{{", "}}", "{%", "_img", "[caption",
    "undefined", "null", "${", "İ", "Σ", "ß", "é", "中", "²", "٣", "Ⓐ", "_", "\u00a0",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_PIECES | st.text(max_size=4), max_size=14).map("".join),
                max_size=8))
def test_shape_table_is_the_plain_measure_on_any_text(texts):
    check_shape(texts)


def test_shape_vector_names_every_column():
    assert len(shape_vector("Dr. X: hello...")) == len(SHAPE_NAMES)
    assert shape_table([]).shape == (0, len(SHAPE_NAMES) + 1)


def assert_same_csr(fast, slow):
    fast.sort_indices()
    slow.sort_indices()
    assert np.array_equal(fast.indptr, slow.indptr)
    assert np.array_equal(fast.indices, slow.indices)
    assert np.array_equal(fast.data, slow.data)


def check_tfidf(vectorizer, docs):
    rows = rows_of(docs)
    assert_same_csr(_tfidf(vectorizer, [r.paragraph.text for r in rows]),
                    vectorizer.transform(row_texts(rows)).tocsr())


def test_tfidf_of_the_whole_call_is_the_vectorizers_on_every_seed(filt, seeds):
    check_tfidf(filt.model.features_.words_, [s.document for s in seeds.values()])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_PIECES | st.text(max_size=4), max_size=14).map("".join),
                min_size=1, max_size=8))
def test_tfidf_of_the_whole_call_is_the_vectorizers_on_any_text(filt, texts):
    from filter.document import Document, Format, Paragraph, Separator

    doc = Document(tuple(Paragraph(t, k) for k, t in enumerate(texts)), Format.TEXT,
                   Separator.BLANK)
    check_tfidf(filt.model.features_.words_, [doc])


@pytest.mark.parametrize("text", ["ΑΣ\x00Σ x", "a\x00b", "\x00"])
def test_tfidf_copes_with_the_row_separator_inside_a_paragraph(filt, text):
    from filter.document import Document, Format, Paragraph, Separator

    doc = Document((Paragraph(text, 0), Paragraph("ΟΔΟΣ", 1)), Format.TEXT, Separator.BLANK)
    check_tfidf(filt.model.features_.words_, [doc])


def check_blocks(vectorizer, docs, rows=None):
    """The compiled block columns and their Python reference are the vectorizer's."""
    from filter import fastblocks
    from filter.features import _block_matrix, _block_matrix_python, block_dicts

    assert fastblocks is not None, "filter/fastblocks.pyx is not built"
    rows = rows_of(docs) if rows is None else rows
    expected = vectorizer.transform(block_dicts(rows)).tocsr()
    assert_same_csr(_block_matrix(vectorizer, rows), expected)
    assert_same_csr(_block_matrix_python(vectorizer, rows), expected)


def test_block_columns_of_odd_blocks():
    # More tokens than a row's first buffer and than the call's first guess of all its
    # columns, repeats within and across the class and ancestor tuples, ancestors past
    # the window, tags and tokens the vocabulary lacks, text tags, and siblings that
    # share (or only equal) their tuples, in rows out of paragraph order.
    from sklearn.feature_extraction import DictVectorizer

    from filter.document import Document, Format, Paragraph, Row, Separator
    from filter.features import _ANCESTOR_WINDOW, block_dicts

    many = tuple(f"c{k % 90}" for k in range(150))
    deep = tuple(f"a{k}" for k in range(3 * _ANCESTOR_WINDOW))
    shared = ("x", "y", "x")
    paragraphs = [
        Paragraph("one", 0, "div", 0.25, 0.5, 7, many, deep),
        Paragraph("two", 1, "p", 0.0, 0.0, 40, shared, shared),
        Paragraph("three", 2, "p", 1.0, 0.0, 3, shared, shared),
        Paragraph("four", 3, "p", 0.5, 0.1, 2, ("x", "y", "x"), shared),
        Paragraph("five", 4, "heading", 0.0, 0.0, 0, many, deep),
        Paragraph("six", 5, "blink", 0.3, 0.3, 1, ("unseen",), ("c1", "unseen", "a70")),
        Paragraph("seven", 6, "text"),
        Paragraph("eight", 7, "li", 0.0, 0.0, 5, (), ()),
    ]
    doc = Document(tuple(paragraphs), Format.HTML, Separator.BLANK)
    fitted_on = [doc, Document(tuple(paragraphs[:1]), Format.HTML, Separator.BLANK)]
    vectorizer = DictVectorizer().fit(
        [d for d in block_dicts(rows_of(fitted_on)) if "tag=blink" not in d])
    check_blocks(vectorizer, [doc])
    check_blocks(vectorizer, [doc], [Row(doc, i, 0) for i in (4, 0, 0, 7, 2, 5, 1, 3, 6)])


def test_block_columns_of_the_whole_call_are_the_vectorizers_on_every_seed(filt, seeds):
    check_blocks(filt.model.features_.blocks_, [s.document for s in seeds.values()])


def test_block_columns_without_some_fact_columns(seeds):
    from sklearn.feature_extraction import DictVectorizer

    from filter.features import block_dicts

    docs = [s.document for s in seeds.values()][:6]
    dicts = [{k: v for k, v in d.items() if k != "html depth"}
             for d in block_dicts(rows_of(docs))]
    check_blocks(DictVectorizer().fit(dicts), docs)


def test_block_columns_are_the_vectorizers_on_real_pages(filt, shared_dir):
    import gzip
    import json
    from itertools import islice

    from filter.segment import segment_html

    corpora = shared_dir / "corpora"
    if not corpora.is_dir():
        pytest.skip(f"{corpora} is absent: the real-page corpora live in ../shared")
    docs = []
    for path in sorted(corpora.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            docs += [segment_html(json.loads(line)["html"]) for line in islice(lines, 40)]
    check_blocks(filt.model.features_.blocks_, docs)


def test_each_han_or_kana_character_is_a_word():
    # Chinese and Japanese put no spaces between words: as one \w+ run, a Japanese
    # sentence was one or two "words" to the shape columns and no token of the vocabulary.
    assert WORD.findall("Kindle書籍を読む・ー") == ["Kindle", "書", "籍", "を", "読", "む", "ー"]
    assert WORD.findall("한국어 단어, ÄÖ_x") == ["한국어", "단어", "ÄÖ_x"]  # Korean writes spaces
    assert re.findall(WORD_PATTERN, "中文abc中?") == ["中", "文", "abc", "中", "?"]
