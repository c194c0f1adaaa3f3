"""A page's comment thread: its frame lines, and each paragraph against them."""

import numpy as np
import pytest

from filter.comments import NAMES, comment_matrix, frame_flags
from filter.document import Document, Paragraph, rows_of


@pytest.mark.parametrize("text", [
    "mike77 says:\nNovember 19, 2019 at 7:02 am",
    "Dana K on March 3, 2021 at 9:15 pm said:",
    "Harbourwatcher\n3 days ago",
    "vor 2 Stunden",
    "há 5 dias",
    "Reply",
    "Antworten",
    "Rating: 12 Votes",
    # A dump joins a commenter's lines with the comment: the opening lines say it.
    "ferryfan\n2 hours ago\n" + "The crossing was cancelled again this morning. " * 5,
])
def test_commenter_lines_are_flagged(text):
    commenter, heading = frame_flags([text])
    assert commenter.tolist() == [1.0] and heading.tolist() == [0.0]


@pytest.mark.parametrize("text", [
    "34 responses to “Council approves ferry budget”",
    "Leave a Reply",
    "Leave a Reply Cancel reply",
    "12 Comments",
    "Top Rated Comments",
    "Kommentare",
    "Deixe um comentário",
    "Join the discussion",
])
def test_comment_section_headings_are_flagged(text):
    commenter, heading = frame_flags([text])
    assert heading.tolist() == [1.0] and commenter.tolist() == [0.0]


@pytest.mark.parametrize("text", [
    "Council approves ferry budget",
    "The council said the repairs would take six weeks.",
    "Share this:",
    "Published March 3, 2021",
    # Prose that mentions time or replies is not a frame line, however it starts.
    "Ten years ago the island had two ferries; now it has one, and it breaks down every "
    "winter, as residents told the council again on Tuesday in a meeting that ran late.",
    "The minister said: the budget is final, and no reply from the council will change "
    "that before the spring, when the new boat is due to arrive from the yard.",
])
def test_article_lines_are_not_flagged(text):
    commenter, heading = frame_flags([text])
    assert commenter.tolist() == [0.0] and heading.tolist() == [0.0]


def test_each_paragraph_is_placed_against_its_pages_thread():
    texts = ["Council approves ferry budget", "The council voted on Tuesday.",
             "Leave a Reply", "mike77 says:\nNovember 19, 2019 at 7:02 am",
             "About time.", "Reply", "ferryfan\n2 hours ago", "Agreed."]
    page = Document(tuple(Paragraph(t, i) for i, t in enumerate(texts)))
    plain = Document((Paragraph("A page without a thread.", 0),))
    rows = rows_of([page, plain])
    rows = [rows[-1], *rows[:-1]]  # the pages' rows interleaved, as a batch may hold them
    out = comment_matrix(rows)
    assert out.shape == (9, len(NAMES))
    assert out[0].tolist() == [0.0] * len(NAMES)
    col = {name: k for k, name in enumerate(NAMES)}
    mine = out[1:]
    assert mine[:, col["commenter line"]].tolist() == [0, 0, 0, 1, 0, 1, 1, 0]
    assert mine[:, col["commenter line just before"]].tolist() == [0, 0, 0, 0, 1, 0, 1, 1]
    assert mine[:, col["after a comment-section heading"]].tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    # The headline has three paragraphs within three after it, one a commenter line; the
    # next paragraph has four, one of them a commenter line.
    assert mine[0, col["commenter lines within three"]] == pytest.approx(1 / 3)
    assert mine[1, col["commenter lines within three"]] == pytest.approx(1 / 4)
    before = mine[:, col["log commenter lines before"]]
    assert np.all(np.diff(before) >= 0) and before[3] == 0 and before[7] > before[4] > 0


# A story, then a thread whose comments read like it, each under a commenter's line.
STORY_WITH_THREAD = """Harbour ferry returns after engine repairs

The island's only car ferry returned to service on Monday after six weeks of engine \
repairs, the harbour authority said, ending a winter of cancelled crossings.

The authority said the repaired engine passed its sea trials on Friday and that the \
timetable would be back to eight crossings a day by the end of the month.

Residents had complained to the council about missed hospital appointments and late \
deliveries while a smaller boat ran a reduced service.

Share this:

3 responses to "Harbour ferry returns after engine repairs"

quaywatcher says:
March 4, 2024 at 8:12 am

The repairs took far longer than the council promised, and the replacement boat could \
not carry lorries, so the island shop ran out of fresh food twice in February.

islandnurse says:
March 4, 2024 at 9:40 am

Several of my patients missed their hospital appointments on the mainland because the \
smaller boat was cancelled whenever the wind picked up in the afternoon.

ferryfan says:
March 4, 2024 at 11:05 am

The authority should keep a second engine in reserve so that one breakdown does not \
leave the whole island without a proper crossing for a month and a half.

Leave a Reply
"""


def test_the_shipped_model_doubts_a_comment_thread_under_the_story(filt):
    result = filt.score(STORY_WITH_THREAD, "text")
    body = {p.text[:20]: p.scores["body"] for p in result.paragraphs}
    kept = {p.text[:20]: p.kept for p in result.paragraphs}
    story = ("Harbour ferry return", "The island's only ca", "The authority said t",
             "Residents had compla")
    thread = ("The repairs took far", "Several of my patien", "The authority should")
    assert all(kept[s] for s in story)
    # Before the thread's columns, the model gave each comment 0.96 to 0.97. The first
    # one can still be kept: body can stay its likeliest label just under 0.5.
    assert all(body[s] < 0.5 for s in thread)
    assert sum(kept[s] for s in thread) <= 1
    # The story's last paragraph, beside the thread, loses the four-way model's vote and
    # its P(body) moves with the training draw (0.82 and 0.70 in two shipped models); what
    # must hold is a clear gap between the story and every comment (0.36 and 0.41 there).
    assert min(body[s] for s in story) > max(body[s] for s in thread) + 0.3
