"""The body-versus-rest gate reads the words too, on pages where nothing else tells."""

import numpy as np
import pytest

from filter.classifier import Gate
from filter.document import Document, Paragraph, rows_of
from filter.features import ParagraphFeatures

# Two vocabularies for paragraphs of the same shape: a story's words and a comment
# thread's. Length, case, punctuation and position are drawn alike for both kinds.
STORY = ("council harbour ferry budget repairs engine crossing island deck vote spring "
         "authority").split()
THREAD = ("reply votes thread upvote ago quoted agree posted member rating joined "
          "signature").split()


def pages(n: int, seed: int) -> tuple[list[Document], list[list[str]]]:
    rng = np.random.default_rng(seed)
    docs, labels = [], []
    for _ in range(n):
        paragraphs, kinds = [], []
        for index in range(12):
            body = bool(rng.random() < 0.5)
            words = rng.choice(STORY if body else THREAD, size=int(rng.integers(8, 14)))
            text = " ".join(words).capitalize() + "."
            paragraphs.append(Paragraph(text, index))
            kinds.append("body" if body else "other")
        docs.append(Document(tuple(paragraphs)))
        labels.append(kinds)
    return docs, labels


def fitted(docs, labels, members: int = 1) -> tuple[ParagraphFeatures, Gate]:
    rows = rows_of(docs)
    features = ParagraphFeatures(min_df=1).fit(rows)
    X = features.transform(rows).tocsr()
    y = np.array([k for kinds in labels for k in kinds], dtype=object)
    groups = np.array([d for d, kinds in enumerate(labels) for _ in kinds])
    gate = Gate(max_iter=30, members=members).fit(rows, X, y, groups,
                                                  len(features.words_.vocabulary_))
    return features, gate


def test_the_gate_tells_a_thread_from_the_story_by_its_words_alone():
    features, gate = fitted(*pages(40, seed=0))
    docs, labels = pages(10, seed=1)
    rows = rows_of(docs)
    X = features.transform(rows).tocsr()
    truth = np.array([k == "body" for kinds in labels for k in kinds])
    assert ((gate.body(rows, X) > 0.5) == truth).mean() >= 0.95
    # The same trees without the word column's information guess at chance: the shape
    # and position columns carry none here, so it is the words that decide.
    blind = gate._dense(X)
    blind[:, -1] = gate.words_.intercept_[0]
    assert ((gate.body_of(rows, blind) > 0.5) == truth).mean() < 0.75


def test_seeds_keep_their_share_of_the_gate_however_many_pages_are_read():
    from filter.classifier import ParagraphClassifier

    model = ParagraphClassifier(seed_share=0.05)
    for pages in (100, 10_000, 1_000_000):
        y = np.array(["body"] * 40 + ["other", None] * pages, dtype=object)
        real = np.array([False] * 40 + [True] * (2 * pages))
        weight = model._gate_weights(y, real)
        labeled = np.array([label is not None for label in y])
        seeds = weight[~real].sum() / weight[labeled].sum()
        # Unlabeled rows give context only and no weight to share.
        assert seeds == pytest.approx(0.05) if pages > 1000 else seeds >= 0.05
        assert (weight[real] == 1).all() and (weight[~real] >= 1).all()


def test_real_rows_keep_their_own_weight_and_seeds_their_share_of_the_total():
    from filter.classifier import ParagraphClassifier

    model = ParagraphClassifier(seed_share=0.05)
    y = np.array(["body"] * 40 + ["other", None] * 5000 + ["body", None] * 1000, dtype=object)
    real = np.array([False] * 40 + [True] * 12_000)
    given = np.r_[np.full(40, 9.0), np.ones(10_000), np.full(2000, 5.0)]
    weight = model._gate_weights(y, real, given)
    assert (weight[real] == given[real]).all()  # a seed row's given weight is not read
    labeled = np.array([label is not None for label in y])
    # Snippet rows weighted 5 count five times in the total the seeds take 5% of.
    assert weight[~real].sum() / weight[labeled].sum() == pytest.approx(0.05)
    assert weight[~real].sum() > model._gate_weights(y, real)[~real].sum()


def test_the_seed_model_has_little_say_on_words_the_seeds_never_taught_it(filt, seeds):
    """The four-way model learned English news from the seeds; on paragraphs in words it
    never saw, the gate decides body, and on the seeds' own prose and on text with no
    word of the vocabulary at all it keeps its whole weight."""
    model = filt.model

    def weights(texts):
        rows = rows_of([Document(tuple(Paragraph(t, k) for k, t in enumerate(texts)))])
        X = model.features_.transform(rows).tocsr()
        return rows, X, model.types_weights(X[:, :model.features_.layout().words])

    german = ["Der Gemeinderat hat am Dienstag beschlossen, die Busspuren zu verlängern.",
              "Die Arbeiten beginnen im Frühjahr und sollen bis zum Herbst dauern."]
    rows, X, w = weights(german)
    assert (w < 0.1 * model.types_weight).all(), w
    # The product of experts leans on the gate as the weight goes to 0.
    gate = model.gate_.body(rows, X)
    assert np.abs(model.predict_proba(rows)[:, 0] - gate).max() < 0.1

    _, _, w = weights(["Qwzlorp vintakke drumbelsen.", "spot_imgspot_img"])
    assert w.tolist() == [model.types_weight] * 2  # no word of the vocabulary: shape alone

    prose = next(d for name, d in sorted(seeds.items()) if name.startswith("000_"))
    body = [p.text for p, label in zip(prose.document.paragraphs, prose.labels, strict=True)
            if label == "body" and len(p.text.split()) >= 20]
    _, _, w = weights(body)
    assert len(body) >= 3 and w.min() > 0.8 * model.types_weight


def test_in_html_the_seed_model_vetoes_with_full_weight_only_as_transcript_or_promo(filt,
                                                                                   seeds):
    """Which kind of "not body" the four-way model means sets its weight in HTML: the
    seeds alone teach transcripts and teasers, while furniture in markup the gate reads
    better."""
    model = filt.model
    prose = next(d for name, d in sorted(seeds.items()) if name.startswith("000_"))
    texts = [p.text for p in prose.document.paragraphs if len(p.text.split()) >= 20][:1] * 4
    rows = rows_of([Document(tuple(Paragraph(t, k) for k, t in enumerate(texts)))])
    words = model.features_.transform(rows).tocsr()[:, :model.features_.layout().words]
    typed = np.array([[0.1, 0.9, 0.0, 0.0],    # boilerplate
                      [0.1, 0.0, 0.9, 0.0],    # transcript
                      [0.1, 0.0, 0.0, 0.9],    # promo
                      [0.1, 0.45, 0.45, 0.0]])  # half and half
    html = np.ones(4, dtype=bool)
    w = model.types_weights(words, None, typed, html)
    share = model.types_weights(words) / model.types_weight
    assert 0.8 < share[0] <= 1.0
    expected = share * np.array([model.boilerplate_weight, model.types_weight, model.types_weight,
                                 (model.boilerplate_weight + model.types_weight) / 2])
    np.testing.assert_allclose(w, expected)
    assert model.boilerplate_weight < model.types_weight
    # In text the gate reads the same words as the four-way model: the veto holds whole.
    np.testing.assert_allclose(model.types_weights(words, None, typed, ~html),
                               share * model.types_weight)


TRANSCRIPT_PAGE = """<html><head><title>Ferry repairs approved | The Harbour Gazette</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/contact">Contact</a></li></ul></nav>
<article>
<h1>Council approves emergency repairs to the island ferry</h1>
<p>The harbour council voted on Tuesday to spend 1.2 million on emergency repairs to the
island ferry, whose port engine failed twice in January and left commuters stranded on
the mainland overnight.</p>
<p>Work on the engine will begin next month at the shipyard in Port Ellen, and a
chartered vessel will run a reduced timetable of four crossings a day while the ferry is
out of service, the council's transport officer said.</p>
<p>Councillors from both groups backed the spending, although several asked why a second
engine failure had been needed before the repairs were ordered, and the vote passed by
eleven to two.</p>
<h2>Listen: the harbour master on the repairs</h2>
<p><strong>Host:</strong> Welcome back to the programme. With me is the harbour master,
Ruth Calder. Ruth, how long will the island go without its ferry?</p>
<p><strong>Ruth Calder:</strong> We expect about six weeks, if the parts arrive on time
and the shipyard keeps the slot it has promised us.</p>
<p><strong>Host:</strong> And what should commuters do in the meantime?</p>
<p><strong>Ruth Calder:</strong> Book the charter early, because it carries fewer cars,
and check the timetable each morning before they leave home.</p>
</article>
<footer><p>Share this article</p><p>Copyright 2026 The Harbour Gazette. All rights
reserved.</p></footer>
</body></html>"""


def test_in_html_an_appended_interview_is_still_dropped_as_transcript(filt):
    """Beside markup the gate decides furniture, but an interview's turns, which real pages
    call body, are still told apart by the four-way model and dropped."""
    result = filt.score(TRANSCRIPT_PAGE, "html")
    turns = [p for p in result.paragraphs
             if p.text.startswith(("Listen:", "Host:", "Ruth Calder:"))]
    assert len(turns) == 5
    # The gate alone (the four-way model's weight at 0) kept the heading at P(body) 0.52
    # and doubted the turns at 0.11 to 0.27 only.
    assert all(p.label.value == "transcript" and not p.kept for p in turns), [
        (p.text[:20], p.scores) for p in turns]
    assert max(p.scores["body"] for p in turns[1:]) < 0.05
    story = [p for p in result.paragraphs if p.text.startswith(("The harbour council",
                                                                "Work on the engine",
                                                                "Councillors from"))]
    assert len(story) == 3 and all(p.kept for p in story)
    assert "Copyright 2026 The Harbour Gazette. All rights reserved." not in result.clean_text
    assert not any(p.kept for p in result.paragraphs if p.text.startswith("Home"))


def test_a_gate_of_several_members_averages_every_members_opinion_in_both_passes():
    # Past 10,000 rows, so that scikit-learn holds out a tenth to stop early and the
    # members' seeds make them differ; on fewer rows they would all agree.
    docs, labels = pages(850, seed=0)
    features, gate = fitted(docs, labels, members=3)
    rows = rows_of(docs)
    X = features.transform(rows).tocsr()
    local, context = [gate.local_, *gate.more_local_], [gate.context_, *gate.more_context_]
    assert [m.random_state for m in local] == [m.random_state for m in context] == [0, 1, 2]
    # scikit-learn's own predict_proba, not the compiled path body_of takes.
    D = gate._dense(X)
    first = np.mean([m.predict_proba(D)[:, 1] for m in local], axis=0)
    Z = gate.second_pass(rows, D, first)
    expected = np.mean([m.predict_proba(Z)[:, 1] for m in context], axis=0)
    assert np.allclose(gate.body(rows, X), expected, atol=1e-9)
    # Averaging is not the first member alone: the members were trained apart.
    alone = gate.local_.predict_proba(D)[:, 1]
    assert not np.allclose(first, alone)


def test_a_gate_needs_a_member():
    with pytest.raises(ValueError, match="members=0"):
        Gate(members=0)
