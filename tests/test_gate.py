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


def fitted(docs, labels) -> tuple[ParagraphFeatures, Gate]:
    rows = rows_of(docs)
    features = ParagraphFeatures(min_df=1).fit(rows)
    X = features.transform(rows).tocsr()
    y = np.array([k for kinds in labels for k in kinds], dtype=object)
    groups = np.array([d for d, kinds in enumerate(labels) for _ in kinds])
    gate = Gate(max_iter=30).fit(rows, X, y, groups, len(features.words_.vocabulary_))
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
