"""The page's main block: where the article's stretch lies, and each paragraph against it."""

import numpy as np
import pytest

from filter.classifier import Gate, context_matrix
from filter.comments import comment_matrix
from filter.document import Document, Paragraph, rows_of
from filter.features import document_runs
from filter.mainblock import NAMES, main_block, main_block_matrix


@pytest.mark.parametrize(("scores", "expected"), [
    ([-1, 2, -0.5, 3, -10, 4], (1, 3)),  # 4.5 beats the lone 4 past the -10
    ([-1, 2, -0.5, 3, -2, 4], (1, 5)),  # a small dip does not split it
    ([0, 2, -2, 2], (1, 1)),  # equal sums: the run that ends first, without a zero lead-in
    ([-3, -1, -2], (1, 1)),  # all negative: the least negative paragraph
    ([5], (0, 0)),
])
def test_the_main_block_is_the_run_with_the_largest_sum(scores, expected):
    assert main_block(np.array(scores, dtype=float)) == expected


def _words(n: int, word: str = "word") -> str:
    return " ".join([word] * n)


def test_each_paragraph_is_placed_against_its_own_page():
    # Page one: a 20-word menu, a 40-word story in two paragraphs, a 30-word share line,
    # a 30-word comment. Page two, interleaved with it in the rows: one lone paragraph.
    one = Document(tuple(Paragraph(_words(n), i) for i, n in enumerate((20, 25, 15, 30, 30))))
    two = Document((Paragraph(_words(7), 0),))
    rows = rows_of([one, two])
    rows = [rows[5], *rows[:5]]
    body = np.array([0.4, 0.1, 0.9, 0.9, 0.2, 0.7])
    out = main_block_matrix(rows, body)
    assert out.shape == (6, len(NAMES))
    col = {name: k for k, name in enumerate(NAMES)}
    inside, before, after = (out[1:, col[n]].tolist() for n in NAMES[:3])
    assert inside == [0, 1, 1, 0, 0] and before == [1, 0, 0, 0, 0] and after == [0, 0, 0, 1, 1]
    # Furniture words strictly between: none for the neighbours of the block, the share
    # line's 30 for the comment (whose 0.2 x 30 = 6 does not make up for the share line's
    # -0.3 x 30 = -9).
    assert out[1:, col["log furniture words to the main block"]] == pytest.approx(
        np.log1p([0, 0, 0, 0, 30]))
    # Body-like words: the story's 0.4 x 25 + 0.4 x 15 = 16 of those and the comment's 6.
    assert out[1:, col["main block's share of body-like words"]] == pytest.approx(16 / 22)
    # A page of one paragraph, and not a body-like one, is its own block of no share.
    assert out[0].tolist() == [1, 0, 0, 0, 0]


def test_the_gates_second_pass_reads_the_neighbours_the_main_block_then_the_thread():
    texts = (_words(20), _words(25), "Leave a Reply", "mike77 says:\nMay 2, 2021 at 7:02 am")
    one = Document(tuple(Paragraph(t, i) for i, t in enumerate(texts)))
    rows = rows_of([one])
    D, body = np.arange(8.0).reshape(4, 2), np.array([0.2, 0.9, 0.1, 0.1])
    Z = Gate.second_pass(rows, D, body)
    first = np.column_stack([body, 1 - body])
    thread = comment_matrix(rows)
    assert thread.any(), "the page has a thread: its columns are not all zero"
    assert np.array_equal(Z, np.hstack([D, context_matrix(rows, first),
                                        main_block_matrix(rows, body), thread]))


# A story, then a comment that reads like it: same topic, full sentences, and only its
# place past "Leave a Reply" and a byline tells it from the story.
STORY_WITH_COMMENT = """Council approves ferry budget

The island council voted 7 to 2 on Tuesday to fund repairs to the ferry engine, ending a \
months-long dispute over the crossing and its costs to residents.

The authority said the work would start in spring and take six weeks, with a replacement \
boat running a reduced timetable.

Residents had complained of cancelled crossings all winter.

Leave a Reply

mike77 says:
November 19, 2019 at 7:02 am

About time. The council has been dragging its feet on this for years and we all paid for \
it with missed appointments on the mainland.

Reply
"""


def test_the_shipped_model_drops_a_comment_past_the_story_and_says_where_it_lies(filt):
    result = filt.score(STORY_WITH_COMMENT, "text", explain=True)
    kept = [p.kept for p in result.paragraphs]
    # The story's short closing line (eight words, just before "Leave a Reply") has been
    # dropped since the comment-thread columns (P(body) 0.32): a known loss.
    assert kept[:3] == [True] * 3 and kept[4:] == [False] * 4
    comment = result.paragraphs[6]
    assert comment.text.startswith("About time.")
    assert "outside the page's main stretch of text" in [r.text for r in comment.reasons]


def test_a_call_gives_each_page_exactly_what_it_gets_alone():
    """The per-page steps run over a whole call at once (``features.document_runs``);
    each page's sums are still its own, so its columns match scoring it alone bit for
    bit: pages of one paragraph, a page with a thread, rows of pages interleaved."""
    texts = (_words(20), _words(25), "Leave a Reply", "mike77 says:\nMay 2, 2021 at 7:02 am",
             "Great piece.", "Reply", _words(3))
    pages = [Document(tuple(Paragraph(t, i) for i, t in enumerate(texts))),
             Document((Paragraph(_words(7), 0),)),
             Document(tuple(Paragraph(_words(n, "other"), i) for i, n in enumerate((4, 40, 9)))),
             Document((Paragraph("ferryfan\n2 hours ago", 0),))]
    rng = np.random.default_rng(0)
    sizes = [len(p) for p in pages]
    body = [rng.random(n) for n in sizes]
    first = [rng.random((n, 4)) for n in sizes]

    def alone(step, values):
        return np.vstack([step(rows_of([p]), v) for p, v in zip(pages, values, strict=True)])

    rows = rows_of(pages)
    mixed = sorted(range(len(rows)), key=lambda k: (rows[k].index, -rows[k].key))
    steps = [(context_matrix, first), (main_block_matrix, body),
             (lambda rows, _v: comment_matrix(rows), body)]
    for step, values in steps:
        expected = alone(step, values)
        together = np.concatenate(values)
        assert np.array_equal(step(rows, together), expected)
        got = step([rows[k] for k in mixed], together[mixed])
        assert np.array_equal(got, expected[mixed])
    assert comment_matrix(rows).any() and main_block_matrix(rows, np.concatenate(body)).any()


def test_document_runs_orders_each_documents_rows_together():
    pages = [Document(tuple(Paragraph("x", i) for i in range(n))) for n in (3, 1, 2)]
    rows = rows_of(pages)
    mixed = [rows[k] for k in (5, 0, 3, 2, 4, 1)]
    runs = document_runs(mixed)
    assert [(mixed[k].key, mixed[k].index) for k in runs.order] == \
        [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0), (2, 1)]
    assert runs.sizes.tolist() == [3, 1, 2] and runs.rank.tolist() == [0, 1, 2, 0, 0, 1]
    csum = runs.cumsum(np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0]))
    assert csum[runs.sums_at + runs.size].tolist() == [7, 7, 7, 8, 48, 48]
    assert document_runs([]).order.tolist() == []
