"""Aligning real pages with their reference text, on pages this test writes itself."""

import gzip
import json

import pytest

from filter import Format
from training.corpus import BODY, OTHER, Reference, label_page, read_pages

from .conftest import SHARED

PAGE = """<html><body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Harbour ferry returns after winter repairs</h1>
<p>The island ferry resumed its daily crossings on Monday after eleven weeks in dry dock,
the harbour authority said, with a new engine and a wider car deck.</p>
<p>Passengers queued from six in the morning for the first sailing, which left two
minutes late because of a stuck ramp that crews freed with a crowbar.</p>
<p>Share this article</p></article>
<aside><h3>Popular</h3>
<p>Council delays vote on seafront parking charges until spring ...</p></aside>
<footer>Copyright 2025 Island Gazette. All rights reserved.</footer></body></html>"""
GOLD = """Harbour ferry returns after winter repairs

The island ferry resumed its daily crossings on Monday after eleven weeks in dry dock, the
harbour authority said, with a new engine and a wider car deck.

Passengers queued from six in the morning for the first sailing, which left two minutes
late because of a stuck ramp that crews freed with a crowbar."""


def write_corpus(path, records):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")


@pytest.fixture
def page(tmp_path):
    path = tmp_path / "tiny.jsonl.gz"
    write_corpus(path, [{"id": "1", "source": "tiny", "url": "https://www.gazette.example/a",
                         "html": PAGE, "gold": GOLD, "gold_type": "full_text", "meta": {}}])
    return next(read_pages(path))


def test_pages_are_read_with_their_site(page):
    assert (page.corpus, page.id, page.site, page.gold_type) == ("tiny", "1", "gazette.example",
                                                                 "full_text")


@pytest.mark.parametrize("fmt", [Format.HTML, Format.TEXT])
def test_paragraphs_aligned_with_the_reference_are_body_and_the_rest_other(page, fmt):
    document, labels = label_page(page, fmt)
    by_text = dict(zip((p.text for p in document.paragraphs), labels, strict=True))
    body = [t for t, label in by_text.items() if label == BODY]
    other = [t for t, label in by_text.items() if label == OTHER]
    assert any(t.startswith("Harbour ferry returns") for t in body)
    assert any(t.startswith("The island ferry resumed") for t in body)
    assert any("Copyright 2025" in t for t in other)
    assert any("seafront parking" in t for t in other)
    assert not any("Share this article" in t for t in body)


def test_short_lines_count_where_the_page_runs_along_the_reference_long_ones_anywhere():
    first, second = (" ".join(p.split()) for p in GOLD.split("\n\n")[1:])
    texts = ["Ferry news", "Harbour ferry returns after winter repairs",
             second,  # before the paragraph the reference puts first: trigrams need no order
             first, "Island ferry resumed", "..."]
    shares = Reference(GOLD).shares(texts)
    # One word of "Ferry news" and all of "Island ferry resumed" are in the
    # reference, but not where the page has them: a menu line and a teaser, not body.
    assert shares == [0.0, 1.0, 1.0, 1.0, 0.0, None]


def test_snippet_pages_label_only_where_a_snippet_sits(tmp_path):
    path = tmp_path / "snip.jsonl.gz"
    write_corpus(path, [{"id": "s", "source": "snip", "url": None, "html": PAGE,
                         "gold": "", "gold_type": "snippets",
                         "meta": {"with": ["resumed its daily crossings"],
                                  "without": ["Copyright 2025 Island Gazette. All rights "
                                              "reserved."]}}])
    document, labels = label_page(next(read_pages(path)), Format.HTML)
    marked = {p.text[:20]: label for p, label in zip(document.paragraphs, labels, strict=True)
              if label}
    assert marked == {"The island ferry res": BODY, "Copyright 2025 Islan": OTHER}


def test_a_decomposed_page_aligns_with_a_composed_reference_and_snippets(tmp_path):
    # The page writes "Gepr\u00fcft" decomposed; the reference and snippet, composed.
    page = ("<html><body><p>Die Br\u00fccke wurde gepru\u0308ft und wieder er\u00f6ffnet, "
            "sagte die Stadt am Montag.</p><p>Teilen</p></body></html>")
    sentence = "Die Br\u00fccke wurde gepr\u00fcft und wieder er\u00f6ffnet, sagte die Stadt"
    path = tmp_path / "nfd.jsonl.gz"
    write_corpus(path, [
        {"id": "g", "source": "nfd", "url": None, "html": page, "gold": sentence + ".",
         "gold_type": "full_text", "meta": {}},
        {"id": "s", "source": "nfd", "url": None, "html": page, "gold": "",
         "gold_type": "snippets", "meta": {"with": ["wurde gepr\u00fcft"], "without": []}}])
    for record in read_pages(path):
        _, labels = label_page(record, Format.HTML)
        assert labels[0] == BODY, record.id
    assert Reference(sentence.replace("\u00fc", "u\u0308")).shares([sentence]) == [1.0]


def test_real_corpora_align_when_present():
    corpora = SHARED / "corpora"
    if not corpora.is_dir():
        pytest.skip(f"{corpora} is absent: the real-page corpora live in ../shared")
    page = next(read_pages(corpora / "scrapinghub.jsonl.gz"))
    _, labels = label_page(page, Format.HTML)
    assert labels.count(BODY) >= 3 and labels.count(OTHER) >= 3


@pytest.mark.parametrize("fmt", [Format.HTML, Format.TEXT])
def test_a_headline_the_reference_leaves_out_is_unlabeled_not_other(tmp_path, fmt):
    path = tmp_path / "untitled.jsonl.gz"
    gold = GOLD.split("\n\n", 1)[1]  # a reference without the headline
    html = PAGE.replace("<html>", "<html><head><title>Harbour ferry returns after winter "
                        "repairs | Island Gazette</title></head>")
    write_corpus(path, [{"id": "1", "url": "https://gazette.example/a", "html": html,
                         "gold": gold, "gold_type": "full_text", "meta": {}}])
    document, labels = label_page(next(read_pages(path)), fmt)
    by_text = dict(zip((p.text for p in document.paragraphs), labels, strict=True))
    assert by_text["Harbour ferry returns after winter repairs"] is None
    assert any(label == OTHER and "Copyright 2025" in t for t, label in by_text.items())


def test_pages_labeled_in_a_pool_come_back_as_one_process_labels_them(tmp_path):
    from training.corpus import _POOL_PAGES, load_real_pages

    untitled = GOLD.split("\n\n", 1)[1]
    records = [{"id": str(k), "source": "tiny", "url": f"https://site{k % 7}.example/{k}",
                "html": PAGE.replace("eleven weeks", f"{k} weeks"),
                "gold": (GOLD if k % 3 else untitled).replace("eleven weeks", f"{k} weeks"),
                "gold_type": "full_text", "meta": {}} for k in range(_POOL_PAGES + 6)]
    write_corpus(tmp_path / "tiny.jsonl.gz", records)
    alone = load_real_pages(tmp_path, workers=1)
    pooled = load_real_pages(tmp_path, workers=2)
    assert pooled.labels == alone.labels and pooled.sites == alone.sites
    assert pooled.by_snippets == alone.by_snippets == [False] * len(alone.documents)
    assert pooled.documents == alone.documents and pooled.corpora == alone.corpora
    assert len(pooled.documents) == 2 * len(records)

    def weeks(document):  # which page a document came from, by its number of weeks
        text = next(p.text for p in document.paragraphs if " weeks" in p.text)
        return text.split(" weeks")[0].split()[-1]

    assert [weeks(d) for d in pooled.documents[::2]] == [str(k) for k in range(len(records))]


def test_snippet_pages_weigh_more_in_the_gate_and_the_card_counts_them(tmp_path):
    from training.corpus import SNIPPET_WEIGHT, load_real_pages

    snippets = {"with": ["resumed its daily crossings"],
                "without": ["Copyright 2025 Island Gazette. All rights reserved."]}
    write_corpus(tmp_path / "mixed.jsonl.gz", [
        {"id": "r", "url": "https://a.example/r", "html": PAGE, "gold": GOLD,
         "gold_type": "full_text", "meta": {}},
        {"id": "s", "url": "https://b.example/s", "html": PAGE, "gold": "",
         "gold_type": "snippets", "meta": snippets}])
    real = load_real_pages(tmp_path, workers=1)
    # Both modes of each page: the reference page's documents, then the snippet page's.
    assert real.by_snippets == [False, False, True, True]
    assert SNIPPET_WEIGHT > 1 and real.weights() == [1.0, 1.0, SNIPPET_WEIGHT, SNIPPET_WEIGHT]
    assert real.corpora[0]["pages_labeled_by_snippets"] == 1
    # Out-of-fold copies recount them: each fold holds one of the two sites.
    folds = [real.without_fold(k, 2) for k in (0, 1)]
    assert sorted(f.corpora[0]["pages_labeled_by_snippets"] for f in folds) == [0, 1]
    assert sorted(f.by_snippets for f in folds) == [[False, False], [True, True]]
