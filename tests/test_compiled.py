"""The compiled walk, tree loop, feature scan and block columns give what their Python
references give, and are built."""

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier

import filter.features as features
import filter.inference as inference
import filter.shape as shape
from filter import fastblocks, fasttrees, fastwalk, fastwords

from .conftest import SEEDS, SHARED

# filter.segment the module, not the function of the same name that filter exports.
segment = sys.modules["filter.segment"]

# What the walk's rules read, in the shapes real pages give them: comments, processing
# instructions and CDATA between text, hidden elements each way, links with and without
# href, emphasis, <br>, entities in text and in attributes, a repeated attribute, empty
# attributes, markup the parser has to repair, text outside any block.
TRICKY = """<!DOCTYPE html><html><head><title>t</title><style>p{}</style></head>
<body class="pageBody main-2" id="top" role="document">loose text
<div class="a" class="b">one<!-- note -->two<?php echo 1; ?>three<br>four</div>
<p hidden>hidden</p><p aria-hidden="TRUE">aria</p><p aria-hidden="false">shown</p>
<p style="color: red; DISPLAY : none">styled away</p><p style="">empty style</p>
<input type="Hidden" value="x"><input type="text" value="y">
<p>A <a href="/x">linked <b>bold</b></a> and <a name="n">anchor</a> and <i>it</i>.</p>
<p title="a &amp; b" class="x&amp;y">caf&eacute; &lt;tag&gt; &#x2014; done</p>
<ul><li>one<li>two <span>inner<div>block in span</div>tail</span></ul>
<table><tr><td>cell<td class="">cell two</table>
<p>unclosed <em>emph <strong>strong</p> after
<svg><text>never</text></svg><script>never()</script><noscript>never</noscript>
<pre>  keep
   lines  </pre>\u00a0\u2003<section id="s"><h2>Head</h2>tail text</section>
</body></html>"""


def pages_of_seeds() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SEEDS.rglob("*.html"))]


def both_walks(html: str):
    root = segment._parse(html)
    assert root is not None
    return segment._walk_python(root), fastwalk.walk(root, True), fastwalk.walk(root, False)


def test_the_compiled_modules_are_built_and_used():
    # pip install builds them (setup.py); a build that silently fell back to Python
    # would cost a third of the HTML speed, so the suite says so.
    assert segment.fastwalk is fastwalk and inference.fasttrees is fasttrees


@pytest.mark.parametrize("html", [TRICKY, *pages_of_seeds()],
                         ids=["tricky", *[p.name for p in sorted(SEEDS.rglob("*.html"))]])
def test_compiled_walk_gives_the_python_walk(html):
    python, compiled, without_sources = both_walks(html)
    assert compiled == python  # the same texts, facts, block elements and sources
    assert [b[0] for b in without_sources] == [b[0] for b in python]  # the paragraphs
    assert all(b[1] is None and b[2] == [] for b in without_sources)


CLASS_PIECES = ["nav", "Nav", "navBar", "NAVBar", "main-2", "x", "42", "4a", "a4", " ",
                "-", "__", "é", "İ", "K", "\u00a0", "aB", "Ab", "AB", "ab", "camelCaseX",
                "content", "CONTENT", "x" * 300, "9" * 300, "ä-b", "\t"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(CLASS_PIECES) | st.text(max_size=6), max_size=16).map("".join),
       st.sampled_from([0, 1, 2, 12, 100]))
def test_class_tokens_give_the_python_reference(joined, limit):
    assert fastwalk.class_tokens(joined, limit) == segment._class_tokens_python(joined, limit)


def test_class_tokens_give_the_python_reference_on_seed_attributes():
    from lxml import etree

    for html in [TRICKY, *pages_of_seeds()]:
        root = etree.fromstring(html.encode(), etree.HTMLParser(encoding="utf-8"))
        for el in root.iter():
            if isinstance(el.tag, str):
                joined = " ".join((el.get("class") or "", el.get("id") or "",
                                   el.get("role") or ""))
                assert fastwalk.class_tokens(joined, 12) == \
                    segment._class_tokens_python(joined, 12), joined


SPACE_PIECES = [" ", "  ", "\t", "\n", "\n\n", "\r", "\f", "\v", "\u00a0", "\u2000",
                "\u200a", "\u200b", "\u200c", "\u3000", "\x85", "\u2028", "\x1c", "\u1680",
                "\u205f", "a", "word", "é", "中", "\U0001F600", ".", "-"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(SPACE_PIECES) | st.text(max_size=3), max_size=20).map("".join))
def test_block_text_gives_the_python_reference(joined):
    assert fastwalk.block_text(joined) == segment._block_text_python(joined)


def test_block_text_of_edge_cases():
    for joined in ["", " ", "\n", "a\n", "\na", " a \n\n b ", "\u00a0\x85x\u2003 y\n",
                   "\U0001F600 \t\u3000z", "".join(SPACE_PIECES)]:
        assert fastwalk.block_text(joined) == segment._block_text_python(joined), joined


def test_tricky_page_reads_as_the_rules_say():
    texts = [b[0].text for b in fastwalk.walk(segment._parse(TRICKY))]
    assert "onetwothree\nfour" in texts and "shown" in texts and "empty style" in texts
    for gone in ("hidden", "aria", "styled away", "never", "never()"):
        assert gone not in " ".join(texts)
    assert "café <tag> — done" in texts


def test_segment_html_is_the_same_with_either_walk(monkeypatch):
    compiled = [segment.segment_html(html) for html in pages_of_seeds()]
    monkeypatch.setattr(segment, "fastwalk", None)
    assert [segment.segment_html(html) for html in pages_of_seeds()] == compiled


def real_pages(per_corpus: int):
    """(where, html) of the first pages of each corpus in ../shared; skips without it."""
    corpora = SHARED / "corpora"
    if not corpora.is_dir():
        pytest.skip(f"{corpora} is absent: the real-page corpora live in ../shared")
    for path in sorted(corpora.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for k, line in enumerate(lines):
                if k >= per_corpus:
                    break
                yield (path.name, k), json.loads(line)["html"]


def test_compiled_walk_gives_the_python_walk_on_real_pages():
    compared = 0
    for where, html in real_pages(150):
        root = segment._parse(html)
        if root is None:
            continue
        assert fastwalk.walk(root, True) == segment._walk_python(root), where
        compared += 1
    assert compared >= 500


def test_compiled_trees_give_scikit_learns_floats_with_missing_values():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 6))
    y = X[:, 0] * X[:, 1] + X[:, 2] > 0
    X[rng.random(X.shape) < 0.15] = np.nan
    model = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15).fit(X, y)
    for n in (0, 1, 7, 500):
        part = np.ascontiguousarray(X[:n])
        assert np.array_equal(inference.trees_positive(model, part),
                              model.predict_proba(part)[:, 1] if n else np.empty(0))


def test_python_tree_paths_still_give_scikit_learns_floats(monkeypatch):
    # The fallback where the loop is not built: scikit-learn's routine, and numpy for a
    # few rows.
    monkeypatch.setattr(inference, "fasttrees", None)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    model = HistGradientBoostingClassifier(max_iter=25).fit(X, X[:, 0] > 0.2)
    for n in (3, 300):
        part = np.ascontiguousarray(X[:n])
        assert np.array_equal(inference.trees_positive(model, part),
                              model.predict_proba(part)[:, 1])


def test_a_seed_scores_the_same_through_either_path(filt):
    # pure_python() is the one list of the compiled modules and the names they go by.
    from benchmarks.throughput import pure_python

    page = Path(sorted(SEEDS.rglob("*.html"))[0]).read_text(encoding="utf-8")
    fast = filt.score(page, "html")
    with pure_python() as compiled:
        assert compiled
        slow = filt.score(page, "html")
    assert [(p.text, p.label, p.scores, p.kept) for p in fast.paragraphs] == \
        [(p.text, p.label, p.scores, p.kept) for p in slow.paragraphs]


# --- the features' per-word scan (fastwords) ---------------------------------------


# Characters whose classes or lower case are unusual: upper case that lower-cases to
# two characters or to ASCII (the Kelvin sign), final sigma, digits that are not
# decimal, numerals, marks, the row end and the special tokens.
ODD = ["İ", "K", "ΟΔΟΣ", "ß", "ẞ", "²", "٣", "Ⅻ", "Ⓐ", "é", "é", "中文", "_", "\u00a0",
       "\u2003", "?", "!", ":", "…", "|", "©", "THE", "The", "tHe", "AND", "I", "a", "0",
       "itself", "nevertheless", "NEVERTHELESS", "neverthelesss", "\x00", "-", "'",
       "don't", "\U0001d400", "\U0001F600", "\t",
       # Han and kana are words of one character; the block's punctuation is no word.
       "日本語のテキスト", "中文abc中", "Kindle書籍", "・", "゠", "ー", "〆", "ｶﾀｶﾅ",
       "㐀", "豈", "한국어"]


def word_stats_both(text):
    return (fastwords.word_stats(text, shape.STOP, shape._LONGEST_STOP),
            shape._word_stats_python(text))


def cells_both(vectorizer, texts):
    folded = features._DIGITS.sub("0", features._ROW_END.join(texts).lower())
    table = features._from_vocabulary(vectorizer, fastwords.GramTable)
    compiled = table.cells(folded, features._SPECIALS, features._ROW_END,
                           len(vectorizer.vocabulary_))
    return np.sort(compiled), np.sort(features._tfidf_cells_python(vectorizer, folded))


def test_the_feature_scan_is_built_and_used():
    assert shape.fastwords is fastwords and features.fastwords is fastwords
    assert features.fastblocks is fastblocks


# Pieces each shape column reacts to, in the forms its pattern is picky about.
SHAPE_ODD = ["...", "…", "[...]", "[…]", "..", "[..]", "]", "[", ". ", ".\n", ".\u2003",
             ".”", ".’)", ".\"x", "!", "?", ":", "Dr. X:", "**Host:** hi", "__A:__ b",
             "# h", "#h", "- x", "• x", "1. x", "12) x", "١. x", "http://", "HTTPS://",
             "www.", "WWW.", ".com", ".COM", ".comx", ".com_", ".org", ".orgé", "{{", "}}",
             "{%", "_IMG", "[caption", "[/CAPTION", "undefined", "xundefined", "undefined_",
             "NULL", "nullé", "null", "${", "2024-01-02", "Jan 12", "“", "«", "»", "\"",
             "İ", "K", "ẞ", "\u2028", "\x85", "\u200b", " ", "\t", "\n"]


def test_word_stats_give_the_python_reference_on_seed_paragraphs_and_odd_text(seeds):
    texts = [p.text for s in seeds.values() for p in s.document.paragraphs]
    texts += [*ODD, " ".join(ODD), "".join(ODD), ""]
    for text in texts:
        compiled, python = word_stats_both(text)
        assert compiled == python, text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ODD) | st.text(max_size=5), max_size=12).map(" ".join))
def test_word_stats_give_the_python_reference_on_any_text(text):
    compiled, python = word_stats_both(text)
    assert compiled == python


def measure_both(texts):
    compiled = shape.shape_table(texts)
    python = np.array([shape._measure(t) for t in texts]).reshape(compiled.shape)
    return compiled, python


def test_shape_rows_give_the_python_reference_on_seeds_and_odd_text(seeds):
    texts = [p.text for s in seeds.values() for p in s.document.paragraphs]
    texts += [*SHAPE_ODD, *ODD, "".join(SHAPE_ODD), ""]
    texts += [a + b for a in SHAPE_ODD for b in SHAPE_ODD]
    compiled, python = measure_both(texts)
    for k, text in enumerate(texts):
        assert compiled[k].tolist() == python[k].tolist(), text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(SHAPE_ODD + ODD) | st.text(max_size=4),
                         max_size=10).map("".join), max_size=6))
def test_shape_rows_give_the_python_reference_on_any_text(texts):
    compiled, python = measure_both(texts)
    assert np.array_equal(compiled, python)


# What shape.DATE's pieces react to: digits of every kind (decimal or not), its
# separators, month names whole, cut short and run on, spaces, word characters that end
# or continue a run.
DATE_PIECES = ["1", "12", "123", "2024", "20245", "٣", "²", "-", "/", ".", " ", "\t", "\u2003",
               "jan", "ja", "sept", "septembre", "mayor", "dec.", "x", "_", "é", ":", ","]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(DATE_PIECES), max_size=12).map("".join))
def test_date_scan_gives_the_patterns_answer(text):
    assert fastwords.has_date(text) == (shape.DATE.search(text) is not None)


def test_date_scan_on_dates_and_near_misses():
    for text, date in [("2024-01-02", True), ("on 2024-1-2.", True), ("12024-01-02", False),
                       ("2024-01-023", False), ("2024-01-02x", False), ("1/2/24", True),
                       ("01.02.2024", True), ("1/2/2", False), ("1/2/20245", False),
                       ("123/2/24", False), ("jan 5", True), ("sept. 12", True),
                       ("mayor  7", True), ("xjan 5", False), ("jan 123", False),
                       ("jan5", False), ("jan ٣", True), ("jan ²", False), ("", False)]:
        assert fastwords.has_date(text) is date, text
        assert (shape.DATE.search(text) is not None) is date, text


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(DATE_PIECES + ODD) | st.text(max_size=3), max_size=8)
       .map("".join))
def test_digit_folding_gives_the_patterns_answer(text):
    folded = fastwords.fold_digits(text)
    assert folded == features._DIGITS.sub("0", text)


def test_digit_folding_keeps_strings_in_their_narrowest_form():
    # A digit past Latin-1 made "0" leaves a string of Latin-1 (or ASCII) only: it must
    # equal, hash and concatenate as the same string written directly.
    for text, want in [("a٣b", "a0b"), ("é٣", "é0"), ("\U0001d7d8x", "0x"), ("abc", "abc"),
                       ("", ""), ("1²", "0²")]:
        folded = fastwords.fold_digits(text)
        assert folded == want and hash(folded) == hash(want) and folded + "z" == want + "z"
        assert folded.isascii() == want.isascii()
    text = "no digits here"
    assert fastwords.fold_digits(text) is text


def test_shape_rows_refuse_a_wrong_output():
    with pytest.raises(ValueError, match="30 per text"):
        fastwords.measure_all(["a"], np.empty((2, 30)))


def test_gram_cells_give_the_python_reference_on_seeds_and_odd_text(filt, seeds):
    vectorizer = filt.model.features_.words_
    for s in seeds.values():
        compiled, python = cells_both(vectorizer, [p.text for p in s.document.paragraphs])
        assert np.array_equal(compiled, python), s.name
    compiled, python = cells_both(vectorizer, [*ODD, "the", "of the", "the ? the"])
    assert np.array_equal(compiled, python)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from([*ODD, "the", "of", "news", "said"])
                         | st.text(max_size=4), max_size=10).map(" ".join), max_size=6))
def test_gram_cells_give_the_python_reference_on_any_text(filt, texts):
    compiled, python = cells_both(filt.model.features_.words_, texts)
    assert np.array_equal(compiled, python)


def test_gram_table_finds_each_token_by_its_characters(filt):
    table = features._from_vocabulary(filt.model.features_.words_, fastwords.GramTable)
    for token, token_id in table.ids.items():
        assert table.token_id_of(token) == token_id, token
    # Near misses: each token cut short, run on, or one character changed; and tokens
    # of every width, which must not match a vocabulary token of other code points.
    for token in list(table.ids)[:2000]:
        for other in (token[:-1], token + "a", token[:-1] + chr(ord(token[-1]) ^ 1),
                      token.upper(), token + "\u0100", token + "\U00010000"):
            assert table.token_id_of(other) == table.ids.get(other, -1), other
    # A table small enough that tokens share slots, and tokens of one hash prefix.
    tiny = fastwords.GramTable({t: k for k, t in enumerate(["a", "b", "ab", "é", "𝔸", "a b"])})
    for token in ["a", "b", "ab", "é", "𝔸", "ba", "", "aa", "e", "A"]:
        assert tiny.token_id_of(token) == tiny.ids.get(token, -1), token


def test_gram_table_refuses_a_trigram():
    with pytest.raises(ValueError, match="not a uni- or bigram"):
        fastwords.GramTable({"a b c": 0})


def test_feature_scan_gives_the_python_reference_on_real_pages(filt):
    vectorizer = filt.model.features_.words_
    compared = 0
    for where, html in real_pages(100):
        texts = [p.text for p in segment.segment_html(html).paragraphs]
        for text in texts:
            compiled, python = word_stats_both(text)
            assert compiled == python, (where, text)
        compiled, python = measure_both(texts)
        assert np.array_equal(compiled, python), where
        compiled, python = cells_both(vectorizer, texts)
        assert np.array_equal(compiled, python), where
        compared += 1
    assert compared >= 400


def test_python_feature_paths_still_give_the_references(filt, seeds, monkeypatch):
    from .test_shape import check_shape, check_tfidf

    monkeypatch.setattr(shape, "fastwords", None)
    monkeypatch.setattr(features, "fastwords", None)
    docs = [s.document for s in seeds.values()]
    check_tfidf(filt.model.features_.words_, docs)
    check_shape([p.text for d in docs for p in d.paragraphs])
