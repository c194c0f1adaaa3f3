"""The real shipped model on the real seed documents."""

from pathlib import Path

import numpy as np
import pytest

from filter import LABELS, Filter, InputError, Label, Policy
from filter.core import round_scores

from .conftest import KNOWN_DROPPED_BODY


def result_for(filt, doc, **kw):
    return filt.score(doc.raw, **kw)


def test_no_body_paragraph_of_a_real_seed_is_dropped(filt, real_seeds):
    for doc in real_seeds:
        result = result_for(filt, doc)
        assert len(result.paragraphs) == len(doc.labels), doc.name
        for para, truth in zip(result.paragraphs, doc.labels, strict=True):
            if truth is Label.BODY and (Path(doc.name).name[:3], para.text) \
                    not in KNOWN_DROPPED_BODY:
                assert para.kept, (doc.name, para.text[:60])


def test_seed_003_loses_its_teasers_and_comment_form(filt, seeds):
    doc = seeds["003_29497bab403b2bdf.txt"]
    result = result_for(filt, doc)
    dropped = {p.text for p in result.dropped}
    for para, truth in zip(result.paragraphs, doc.labels, strict=True):
        if truth is Label.PROMO:
            assert para.label is Label.PROMO and not para.kept, para.text
    for line in ("LEAVE A REPLY", "Share post:", "spot_imgspot_img", "Subscribe", "Popular",
                 "Please enter your comment!\nPlease enter your name here"):
        assert line in dropped
    assert "Top Cryptos to Buy Now" not in result.clean_text
    assert result.counts["promo"] == 8


def test_seed_002_transcript_is_labeled_transcript(filt, seeds):
    doc = seeds["002_1d3e4e9e20bffcba.txt"]
    result = result_for(filt, doc)
    turns = [p for p in result.paragraphs if p.text.startswith(("**Host:**", "**Dr. Khalil:**"))]
    assert len(turns) == 10
    assert all(p.label is Label.TRANSCRIPT for p in turns)
    kept = result_for(filt, doc, policy=Policy.build(keep="body,transcript"))
    assert all(p.kept for p in kept.paragraphs if p.label is Label.TRANSCRIPT)


def test_result_fields_add_up(filt, seeds):
    result = result_for(filt, seeds["003_29497bab403b2bdf.txt"])
    assert sum(result.counts.values()) == len(result.paragraphs)
    assert list(result.counts) == list(LABELS)
    for p in result.paragraphs:
        assert set(p.scores) == set(LABELS)
        assert sum(p.scores.values()) == pytest.approx(1.0, abs=1e-4)
    total = sum(len(p.text) for p in result.paragraphs)
    removed = sum(len(p.text) for p in result.dropped)
    assert result.contamination == pytest.approx(removed / total, abs=1e-6)
    assert result.clean_text == "\n\n".join(p.text for p in result.paragraphs if p.kept)
    report = result.report()
    assert set(report) == {"paragraphs", "clean_text", "counts", "contamination", "model"}
    assert report["model"] == result.model_version


def test_line_separated_input_is_cleaned_line_separated(filt, seeds):
    result = result_for(filt, seeds["001_4107b879087a45f7.txt"])
    assert "\n\n" not in result.clean_text
    assert result.clean_text.count("Iran's Withdrawal from Syria: Implications") == 1


def test_html_page_keeps_article_and_drops_chrome(filt, seeds):
    doc = seeds["p01_bridge_closure_detour.html"]
    result = filt.score(doc.raw)
    agree = sum(p.label is t for p, t in zip(result.paragraphs, doc.labels, strict=True))
    assert agree / len(doc.labels) > 0.95
    assert "©" not in result.clean_text


def test_many_documents_in_one_call_match_one_at_a_time(filt, real_seeds):
    together = filt.score_many([d.raw for d in real_seeds])
    for doc, res in zip(real_seeds, together, strict=True):
        alone = filt.score(doc.raw)
        assert [p.label for p in alone.paragraphs] == [p.label for p in res.paragraphs]


def test_clean_gives_scores_clean_text_under_every_policy(filt, seeds):
    docs = [filt.segment(s.raw) for s in seeds.values()]
    for policy in (None, Policy.build(keep="body,transcript", min_confidence=0.7),
                   Policy(drop_repeats=False)):
        scored = [r.clean_text for r in filt.score_documents(docs, policy)]
        assert filt.clean_documents(docs, policy) == scored
        assert any(len(c) < sum(map(len, d.texts)) for c, d in zip(scored, docs, strict=True))
    for seed in seeds.values():
        assert filt.clean(seed.raw) == filt.score(seed.raw).clean_text, seed.name
    assert filt.clean("  \n\n ") == "" and filt.clean_documents([]) == []


def test_empty_document_gives_an_empty_result(filt):
    result = filt.score("  \n\n ")
    assert result.paragraphs == () and result.clean_text == "" and result.contamination == 0.0


def test_oversized_and_non_text_input_is_refused():
    small = Filter(max_bytes=100)
    with pytest.raises(InputError, match="larger than the limit of 100 bytes"):
        small.score("x" * 101)
    with pytest.raises(InputError, match="expected text"):
        small.score(b"bytes")  # type: ignore[arg-type]


def test_scores_are_rounded_as_python_rounds_them():
    # Near a half of the sixth decimal, rint(v * 1e6) alone picks the wrong side.
    k = np.arange(0, 10**6, 997)
    near = (k + 0.5) / 1e6
    values = np.concatenate([near, np.nextafter(near, 0), np.nextafter(near, 1),
                             np.arange(129) / 128, np.random.default_rng(0).random(4000),
                             [0.0, -0.0, 1.0, -1e-9, 2.5, np.nan, np.inf, 1e300]])
    proba = values[: len(values) // 4 * 4].reshape(-1, 4)
    want = [[round(v, 6) for v in row] for row in proba.tolist()]
    assert repr(round_scores(proba)) == repr(want)
    assert round_scores(np.zeros((0, 4))) == []


def test_a_big_call_is_cut_into_model_calls_of_bounded_paragraphs(filt, real_seeds):
    from filter import core
    from filter.document import Document, Paragraph

    docs = [Document(tuple(Paragraph("x", i) for i in range(n))) for n in (3, 5, 9, 0, 2, 4)]
    calls = core._calls(docs, 8)
    assert [[len(d) for d in c] for c in calls] == [[3, 5], [9], [0, 2, 4]]
    assert core._calls([], 8) == [[]]
    together = filt.score_documents([filt.segment(d.raw) for d in real_seeds])
    saved = core.CALL_PARAGRAPHS
    core.CALL_PARAGRAPHS = 25  # many calls, some documents alone
    try:
        cut = filt.score_documents([filt.segment(d.raw) for d in real_seeds])
    finally:
        core.CALL_PARAGRAPHS = saved
    assert [[(p.label, p.scores, p.kept) for p in r.paragraphs] for r in cut] == \
        [[(p.label, p.scores, p.kept) for p in r.paragraphs] for r in together]
