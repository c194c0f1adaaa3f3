import numpy as np
import pytest

from filter import Label, Policy
from filter.policy import THIN_WORDS
from filter.policy import repeat_key as _fold

# columns: body, boilerplate, transcript, promo
PROBA = np.array([
    [0.90, 0.05, 0.03, 0.02],   # clear body
    [0.05, 0.90, 0.03, 0.02],   # clear boilerplate
    [0.40, 0.10, 0.05, 0.45],   # promo, but body is not unlikely
    [0.05, 0.05, 0.85, 0.05],   # transcript
    [0.90, 0.05, 0.03, 0.02],   # body, repeating the first paragraph
    [0.05, 0.90, 0.03, 0.02],   # boilerplate, repeating the second: the stretch again
])
TEXTS = ["Title", "Share post:", "A teaser...", "**Host:** Hi.", "title ", "Share  POST:"]
BODY = [0.90, 0.05, 0.03, 0.02]


def test_default_keeps_body_and_drops_what_is_clearly_something_else():
    labels, kept = Policy().decide(TEXTS, PROBA)
    assert labels == [Label.BODY, Label.BOILERPLATE, Label.PROMO, Label.TRANSCRIPT,
                      Label.BOILERPLATE, Label.BOILERPLATE]
    assert kept == [True, False, False, False, False, False]


def test_min_confidence_keeps_paragraphs_the_model_is_unsure_about():
    _, kept = Policy(min_confidence=0.7).decide(TEXTS, PROBA)
    assert kept == [True, False, True, False, False, False]


def test_keep_more_labels():
    _, kept = Policy.build(keep="body,transcript").decide(TEXTS, PROBA)
    assert kept == [True, False, False, True, False, False]


def test_a_stretch_printed_twice_is_boilerplate_the_second_time_unless_disabled():
    labels, kept = Policy(drop_repeats=False).decide(TEXTS, PROBA)
    assert labels[-2] is Label.BODY and kept[-2]
    # Kept as boilerplate when boilerplate is kept; a repeat is never the model's label.
    labels, kept = Policy.build(keep="body,boilerplate").decide(TEXTS, PROBA)
    assert labels[-2] is Label.BOILERPLATE and kept[-2]


def test_a_stretch_is_dropped_from_either_end_and_every_later_copy():
    story = ["Headline", "First paragraph.", "Second paragraph."]
    proba = np.array([BODY] * 9)
    # Printed three times: each later copy matches its nearest earlier copy's neighbours.
    _, kept = Policy().decide(story * 3, proba)
    assert kept == [True] * 3 + [False] * 6
    # Its second copy's first paragraph repeats by the paragraph after it, the last by
    # the paragraph before; the line between the copies is no repeat.
    _, kept = Policy().decide([*story, "Read more:", *story[:2]], proba[:6])
    assert kept == [True] * 4 + [False] * 2


def test_a_repeated_line_on_its_own_is_left_to_the_model():
    texts = ["Pancakes", "Stir well.", "Add the flour.", "Stir well.", "Bake for an hour."]
    labels, kept = Policy().decide(texts, np.array([BODY] * 5))
    assert kept == [True] * 5 and labels[3] is Label.BODY
    # The same line twice in a row is a line on its own; three times, a stretch.
    _, kept = Policy().decide(["Title", "Ha.", "ha.", "Story."], np.array([BODY] * 4))
    assert kept == [True] * 4
    _, kept = Policy().decide(["Title", "Ha.", "ha.", "HA.", "Story."], np.array([BODY] * 5))
    assert kept == [True, True, False, False, True]


def test_a_second_copy_of_the_title_is_boilerplate_wherever_it_stands():
    # The first kept paragraph is the title; a menu above it that the model dropped is not.
    texts = ["Home", "Pancakes", "Stir well.", "pancakes", "More recipes", "Home"]
    chrome = [0.05, 0.90, 0.03, 0.02]
    proba = np.array([chrome, BODY, BODY, BODY, chrome, BODY])
    labels, kept = Policy().decide(texts, proba)
    assert kept == [False, True, True, False, False, True]
    assert labels[3] is Label.BOILERPLATE and labels[5] is Label.BODY


def test_a_stretch_whose_first_copy_was_dropped_is_left_to_the_model():
    # The menu at the top is dropped; its copy in the footer is the model's to judge,
    # and once it is kept, a third copy is the repeat.
    texts = ["Home", "News", "Story.", "Home", "News", "Home", "News"]
    chrome = [0.05, 0.90, 0.03, 0.02]
    proba = np.array([chrome, chrome, BODY, BODY, BODY, BODY, BODY])
    _, kept = Policy().decide(texts, proba)
    assert kept == [False, False, True, True, True, False, False]


def test_bad_policies_are_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        Policy(min_confidence=1.5)
    with pytest.raises(ValueError, match="unknown label 'bodyy'"):
        Policy.build(keep="bodyy")
    with pytest.raises(ValueError, match="at least one label"):
        Policy(keep=frozenset())


def test_repeats_are_found_whatever_the_whitespace_and_case():
    spaces = [c for c in map(chr, range(0x3100)) if c.isspace()]
    texts = ["Straße  Title", "a", " a", "a ", "", "\u200bx", "A\xadB"] + [
        f"{s}Share{s}{s}post:{s}" for s in spaces] + [f"Share{s}post:" for s in spaces]
    for text in texts:
        assert _fold(text) == " ".join(text.split()).casefold(), repr(text)
    labels, kept = Policy().decide(["Title", "Story.", "title\u00a0 ", " STORY."],
                                   PROBA[[0, 0, 0, 0]])
    assert labels[2:] == [Label.BOILERPLATE] * 2 and kept == [True, True, False, False]


def test_a_document_nothing_of_which_is_kept_keeps_its_most_wanted_stretch():
    texts = ["Home", "Sign up for our daily newsletter",
             "A long paragraph the model doubted, many words in it.", "Menu"]
    proba = np.array([[0.30, 0.70, 0.0, 0.0], [0.02, 0.98, 0.0, 0.0],
                      [0.20, 0.80, 0.0, 0.0], [0.02, 0.98, 0.0, 0.0]])
    labels, kept = Policy().decide(texts, proba)
    # The long paragraph outweighs the likelier one-word menu item; labels are the model's.
    assert kept == [False, False, True, False]
    assert labels == [Label.BOILERPLATE] * 4
    _, kept = Policy(never_empty=False).decide(texts, proba)
    assert kept == [False] * 4


def test_the_fallback_keeps_a_run_once_and_not_pure_chrome():
    texts = ["Story line one here", "Story line two here", "story line one  here",
             "Story line TWO here", "Footer"]
    proba = np.array([[0.40, 0.60, 0.0, 0.0]] * 4 + [[0.01, 0.99, 0.0, 0.0]])
    labels, kept = Policy().decide(texts, proba)
    assert kept == [True, True, False, False, False] and labels[2] is Label.BOILERPLATE
    chrome = np.array([[0.09, 0.91, 0.0, 0.0], [0.01, 0.99, 0.0, 0.0]])
    assert Policy().decide(["Share post:", "LEAVE A REPLY"], chrome)[1] == [False, False]


def test_a_thin_document_is_topped_up_from_its_most_wanted_stretch():
    # A page that kept two archive links while its article, merged with the byline into
    # one block, sat just under the threshold.
    article = "05/10/2018 - Published by the desk. " + "The story goes on. " * 40
    texts = ["Menu", "February (109)", "March (92)", "Story title", article, "Footer"]
    proba = np.array([[0.01, 0.99, 0.0, 0.0], [0.51, 0.49, 0.0, 0.0], [0.50, 0.47, 0.0, 0.03],
                      [0.09, 0.91, 0.0, 0.0], [0.46, 0.47, 0.0, 0.07], [0.01, 0.99, 0.0, 0.0]])
    _, kept = Policy().decide(texts, proba)
    assert kept == [False, True, True, False, True, False]
    assert Policy(never_empty=False).decide(texts, proba)[1] == [False, True, True, False,
                                                                 False, False]
    # Enough kept words: nothing is added, however doubted the rest.
    texts[1] = "February " * THIN_WORDS
    assert Policy().decide(texts, proba)[1] == [False, True, True, False, False, False]


def test_a_document_thin_once_its_printed_twice_stretch_is_dropped_is_topped_up():
    one, two = "A kept line of the story. " * 6, "Another kept line of it. " * 6
    doubted = "The article the model doubted, merged into a single block. " * 5
    texts = [one, two, doubted, one, two]  # 120 kept words, 60 once the copy goes
    proba = np.array([[0.9, 0.1, 0.0, 0.0]] * 2 + [[0.45, 0.55, 0.0, 0.0]]
                     + [[0.9, 0.1, 0.0, 0.0]] * 2)
    labels, kept = Policy().decide(texts, proba)
    assert kept == [True, True, True, False, False]
    assert labels[3:] == [Label.BOILERPLATE] * 2


def test_topping_up_a_short_document_leaves_the_chrome_between_its_lines():
    # Without the half-the-best bar the stretch would bring back both chrome lines.
    texts = ["Home > Health", "A headline the model doubted, and a longer one here",
             "Listen to this article", "6 min read",
             "A lede the model doubted too, with a few more words in it."]
    proba = np.array([[0.0, 1.0, 0.0, 0.0], [0.45, 0.55, 0.0, 0.0], [0.01, 0.99, 0.0, 0.0],
                      [0.0, 1.0, 0.0, 0.0], [0.48, 0.52, 0.0, 0.0]])
    _, kept = Policy().decide(texts, proba)
    assert kept == [False, True, False, False, True]


def test_a_document_with_something_kept_is_left_as_it_is():
    _, kept = Policy().decide(TEXTS[:2], PROBA[:2])
    assert kept == [True, False]


def test_a_documents_repeat_keys_are_made_once_and_decide_alike():
    from filter.document import Document, Paragraph

    doc = Document(tuple(Paragraph(t, i) for i, t in enumerate(TEXTS)))
    keys = doc.repeat_keys
    assert keys == tuple(_fold(t) for t in TEXTS) and doc.repeat_keys is keys
    assert doc == Document(doc.paragraphs)  # the cache is no part of the value
    for policy in (Policy(), Policy(min_confidence=0.7), Policy(drop_repeats=False)):
        assert policy.decide(TEXTS, PROBA, keys) == policy.decide(TEXTS, PROBA)


# A story of four paragraphs, and a page's hidden metadata dumped as one line after it:
# title, author, tags, dates, and the story again, joined by spaces.
STORY = [
    "The harbour authority reopened the north quay on Monday after a winter of repairs.",
    "Fishing boats had moored at the south quay since November, two hours further out.",
    "The repairs cost more than planned because the old piles had rotted below the tide.",
    "The authority said the quay should now last another forty years with little work.",
    "Crews worked through the night at low tide to drive the new steel piles into place.",
    "The fish market beside the quay will open again next week with its full opening hours.",
    "Skippers welcomed the news but asked for a second crane before the summer season.",
]
METADATA = ("North quay reopens\nHarbour desk\nharbour,quay,repairs,fishing\n"
            "2024-03-04T08:12:00+01:00\n2024-03-04T09:40:00+01:00\n"
            "https://example.org/images/north-quay.jpg\n500\n250\n")


def _merged(story: list[str]) -> str:
    return METADATA + "  ".join(p.upper() for p in story) + "\nShare this story"


def test_a_block_that_merges_a_copy_of_the_kept_paragraphs_is_boilerplate():
    texts = ["North quay reopens", *STORY, _merged(STORY)]
    labels, kept = Policy().decide(texts, np.array([BODY] * len(texts)))
    # Found whatever its white space and case; the paragraphs it copies stay.
    assert kept == [True] * 8 + [False]
    assert labels[-1] is Label.BOILERPLATE
    # Before the story as well as after it, and never when repeats are left to the model.
    _, kept = Policy().decide([_merged(STORY), *STORY], np.array([BODY] * 8))
    assert kept == [False] + [True] * 7
    _, kept = Policy(drop_repeats=False).decide(texts, np.array([BODY] * len(texts)))
    assert all(kept)


def test_a_long_paragraph_is_no_copy_for_holding_a_few_short_ones():
    # Two paragraphs found in it, most of its words: fewer than COPY_SOURCES.
    first, second = " ".join(STORY[:3]), " ".join(STORY[3:5])
    block = " ".join([first, second, *STORY[5:], METADATA])
    assert len(block.split()) >= 100
    assert all(Policy().decide([first, second, block], np.array([BODY] * 3))[1])
    # Table cells and headings are in any long text: a source has COPY_SOURCE_WORDS.
    cells = [f"Week {k}" for k in range(1, 26)]
    plan = " ".join(f"In week {k} run easy." for k in range(1, 26))
    assert all(Policy().decide([*cells, plan], np.array([BODY] * 26))[1])
    # A copy of what the model dropped is the model's to judge.
    dropped = np.array([[0.05, 0.9, 0.03, 0.02]] * 7 + [BODY])
    assert Policy().decide([*STORY, _merged(STORY)], dropped)[1] == [False] * 7 + [True]


def test_merged_copies_wants_enough_of_the_block_to_be_copied():
    from filter.policy import COPY_SHARE, COPY_WORDS, merged_copies
    keys = [_fold(t) for t in [*STORY, _merged(STORY)]]
    words = len(keys[-1].split())
    assert words >= COPY_WORDS
    assert merged_copies(keys, [True] * 8) == [7]
    # Padded until the copied paragraphs hold less than COPY_SHARE of its words.
    copied = sum(len(p.split()) for p in STORY)
    pad = int(copied / COPY_SHARE) - words + 1
    assert merged_copies([*keys[:7], keys[7] + " word" * pad], [True] * 8) == []
    assert merged_copies([*keys[:7], keys[7] + " word" * (pad - 2)], [True] * 8) == [7]


def test_a_candidate_past_the_work_bound_is_not_searched(monkeypatch):
    from filter import policy
    keys = [_fold(t) for t in [*STORY, _merged(STORY)]]
    # Its words times the sources: the kept paragraphs of COPY_SOURCE_WORDS, itself too.
    work = len(keys[-1].split()) * len(keys)
    monkeypatch.setattr(policy, "COPY_MAX_WORK", work)
    assert policy.merged_copies(keys, [True] * 8) == [7]
    monkeypatch.setattr(policy, "COPY_MAX_WORK", work - 1)
    assert policy.merged_copies(keys, [True] * 8) == []
