import numpy as np
import pytest

from filter import Label, Policy
from filter.policy import repeat_key as _fold

# columns: body, boilerplate, transcript, promo
PROBA = np.array([
    [0.90, 0.05, 0.03, 0.02],   # clear body
    [0.05, 0.90, 0.03, 0.02],   # clear boilerplate
    [0.40, 0.10, 0.05, 0.45],   # promo, but body is not unlikely
    [0.05, 0.05, 0.85, 0.05],   # transcript
    [0.90, 0.05, 0.03, 0.02],   # body, repeating the first paragraph
])
TEXTS = ["Title", "Share post:", "A teaser...", "**Host:** Hi.", "title "]


def test_default_keeps_body_and_drops_what_is_clearly_something_else():
    labels, kept = Policy().decide(TEXTS, PROBA)
    assert labels == [Label.BODY, Label.BOILERPLATE, Label.PROMO, Label.TRANSCRIPT,
                      Label.BOILERPLATE]
    assert kept == [True, False, False, False, False]


def test_min_confidence_keeps_paragraphs_the_model_is_unsure_about():
    _, kept = Policy(min_confidence=0.7).decide(TEXTS, PROBA)
    assert kept == [True, False, True, False, False]


def test_keep_more_labels():
    _, kept = Policy.build(keep="body,transcript").decide(TEXTS, PROBA)
    assert kept == [True, False, False, True, False]


def test_repeat_of_an_earlier_paragraph_is_boilerplate_unless_disabled():
    labels, kept = Policy(drop_repeats=False).decide(TEXTS, PROBA)
    assert labels[-1] is Label.BODY and kept[-1]


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
    labels, kept = Policy().decide(["Title", "title\u00a0 "], PROBA[[0, 0]])
    assert labels[1] is Label.BOILERPLATE and not kept[1]


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


def test_the_fallback_keeps_a_run_but_not_its_repeats_and_not_pure_chrome():
    texts = ["Story line one here", "Story line two here", "story line one  here", "Footer"]
    proba = np.array([[0.40, 0.60, 0.0, 0.0]] * 3 + [[0.01, 0.99, 0.0, 0.0]])
    labels, kept = Policy().decide(texts, proba)
    assert kept == [True, True, False, False] and labels[2] is Label.BOILERPLATE
    chrome = np.array([[0.09, 0.91, 0.0, 0.0], [0.01, 0.99, 0.0, 0.0]])
    assert Policy().decide(["Share post:", "LEAVE A REPLY"], chrome)[1] == [False, False]


def test_a_document_with_something_kept_is_left_as_it_is():
    _, kept = Policy().decide(TEXTS[:2], PROBA[:2])
    assert kept == [True, False]
