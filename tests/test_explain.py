"""Explanations: the wording of features, the tree decomposition, and the reasons the
shipped model gives on the real seeds."""

from __future__ import annotations

import numpy as np
import pytest

from filter.explain import REPEAT, Reason, describe, tree_contributions
from filter.inference import _trees


@pytest.mark.parametrize("name, higher, words", [
    ("ends with '...'", True, "ends with '...'"),
    ("ends with '...'", False, "does not end with '...'"),
    ("similarity to rest of document", False, "off-topic for this document"),
    ("similarity to rest of document", True, "on the topic of this document"),
    ("speaker tag at start", True, "speaker tag at start"),
    ("speaker tag at start", False, "no speaker tag at start"),
    ("html link density", True, "link-dense block"),
    ("word 'subscribe'", True, "the word 'subscribe'"),
    ("word 'read more'", True, "the words 'read more'"),
    ("class=sidebar", True, "in an element of class 'sidebar'"),
    ("inside=comments", True, "inside a 'comments' section"),
    ("tag=li", False, "not a <li> block"),
    ("previous: speaker tag at start", True, "previous paragraph: speaker tag at start"),
    ("paragraphs within three looks like promo", True, "nearby paragraphs look like promo"),
    ("previous paragraph looks like other (gate)", True,
     "the previous paragraph looks like page furniture"),
    ("share of digits", True, "high share of digits"),
    ("log paragraphs after", False, "fewer paragraphs after"),
    ("log document paragraphs", None, "number of document paragraphs"),
    ("contains a link address", False, "does not contain a link address"),
])
def test_features_are_named_in_words_a_person_understands(name, higher, words):
    assert describe(name, higher) == words


def test_every_feature_of_the_shipped_model_has_wording_without_raw_indices(filt):
    for name in filt.model.feature_names()[-400:]:
        for higher in (True, False, None):
            text = describe(name, higher)
            assert text and "=" not in text and "[" not in text, (name, text)


def test_tree_contributions_add_up_to_the_gates_raw_score(filt, real_seeds):
    from filter.document import rows_of

    gate = filt.model.gate_
    if gate is None:
        pytest.skip("the shipped model has no gate (trained on seeds only)")
    rows = rows_of([real_seeds[0].document])
    D = gate._dense(filt.model.features_.transform(rows).tocsr())
    contributions, start = tree_contributions(gate.local_, D)
    raw = _trees(gate.local_).packed_raw(np.ascontiguousarray(D))
    assert np.allclose(contributions.sum(axis=1) + start, raw, atol=1e-9)


def test_reasons_of_seed_003_name_teasers_furniture_and_body(filt, seeds):
    doc = seeds["003_29497bab403b2bdf.txt"]
    result = filt.score(doc.raw, explain=True)
    assert len(result.paragraphs) == len(doc.labels)
    by_text = {p.text: p for p in result.paragraphs}
    for p in result.paragraphs:
        assert p.reasons is not None and 1 <= len(p.reasons) <= 3
        assert all(isinstance(r, Reason) and r.weight >= 0 for r in p.reasons)
        assert [r.weight for r in p.reasons] == sorted((r.weight for r in p.reasons),
                                                       reverse=True)
    teaser = next(p for p in result.paragraphs if p.text.endswith("...") and p.label == "promo")
    assert any("'...'" in r.text for r in teaser.reasons), teaser.reasons
    junk = by_text["spot_imgspot_img"]
    assert "template junk" in [r.text for r in junk.reasons], junk.reasons
    # Scores and labels are the same with or without reasons.
    plain = filt.score(doc.raw)
    assert [(p.label, p.scores, p.kept) for p in plain.paragraphs] == \
        [(p.label, p.scores, p.kept) for p in result.paragraphs]
    assert "reasons" not in plain.report()["paragraphs"][0]
    assert result.report()["paragraphs"][0]["reasons"][0].keys() == {"feature", "text", "weight"}


def test_a_stretch_printed_twice_is_dropped_and_its_reasons_say_so(filt):
    story = ("Council approves the new bus lanes\n\nThe council voted on Tuesday to extend "
             "the bus lanes on Main Street, after a two-hour debate.")
    result = filt.score(f"{story}\n\nRead more\n\n{story}", explain=True)
    first, second = result.paragraphs[1], result.paragraphs[-1]
    assert first.kept and first.reasons[0] != REPEAT
    assert (second.label, second.kept) == ("boilerplate", False)
    # The rule's reason when it overrides the model; the model's own when it agrees.
    assert second.reasons[0] == REPEAT or "repeats an earlier paragraph" in \
        second.reasons[0].text


# --- the shells: CLI and service --------------------------------------------------


def test_score_explain_on_the_command_line_adds_reasons_and_changes_nothing_else(
        seeds, tmp_path):
    from .test_cli import contamfilter, jsonl

    raw = seeds["003_29497bab403b2bdf.txt"].raw
    (tmp_path / "003.txt").write_text(raw, encoding="utf-8")
    plain = contamfilter("score", tmp_path / "003.txt").records()[0]
    explained = contamfilter("score", "--explain", tmp_path / "003.txt").records()[0]
    for p, q in zip(plain["paragraphs"], explained["paragraphs"], strict=True):
        assert q.pop("reasons")
        assert p == q
    records = contamfilter("score", "--jsonl", "--explain", stdin=jsonl({"id": 1, "text": raw}))
    assert all(1 <= len(p["reasons"]) <= 3 for p in records.records()[0]["paragraphs"])


def test_v1_score_with_explain_true_answers_reasons_per_paragraph(seeds):
    from fastapi.testclient import TestClient

    from service.app import create_app

    raw = seeds["003_29497bab403b2bdf.txt"].raw
    with TestClient(create_app()) as client:
        plain = client.post("/v1/score", json={"text": raw}).json()
        explained = client.post("/v1/score", json={"text": raw, "explain": True}).json()
        refused = client.post("/v1/score", json={"text": raw, "explain": "maybe"})
    assert all("reasons" not in p for p in plain["paragraphs"])
    for p, q in zip(plain["paragraphs"], explained["paragraphs"], strict=True):
        reasons = q.pop("reasons")
        assert p == q and 1 <= len(reasons) <= 3
        assert all(set(r) == {"feature", "text", "weight"} for r in reasons)
    assert refused.status_code == 422
