"""The paragraph classifier: a local model, then a context model over its neighbours.

Stage one reads each paragraph alone (words, shape, block facts, topical fit). Stage two
adds what stage one thinks of the neighbours, because furniture comes in runs: a line
after "Related" is a teaser, a turn after a "**Host:**" turn is a transcript. Stage two is
trained on out-of-fold stage-one guesses, grouped by document, so it learns how reliable
those guesses are on unseen documents rather than on memorised ones.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from .comments import comment_matrix, near_commenters
from .document import Format, Row
from .features import ParagraphFeatures, Parts, Runs, document_runs
from .inference import linear_proba, trees_positive
from .labels import LABELS
from .mainblock import main_block_matrix
from .parts import GateColumns, SplitLinear

CONTEXT_PARTS = (
    "previous paragraph", "next paragraph", "paragraph before previous",
    "paragraph after next", "paragraphs within three", "whole document",
    "rest of document after", "document before",
)


def context_names(labels: Sequence[str] = LABELS) -> list[str]:
    return [f"{part} looks like {label}" for part in CONTEXT_PARTS for label in labels]


def context_matrix(rows: Sequence[Row], proba: np.ndarray,
                   runs: Runs | None = None) -> np.ndarray:
    """Neighbourhood summaries of first-pass probabilities, one row per paragraph
    (``runs``: ``document_runs(rows)``, when the caller has it)."""
    runs = document_runs(rows) if runs is None else runs
    p = proba[runs.order]
    j, n, at = runs.rank, runs.size, runs.sums_at
    csum = runs.cumsum(p)
    near, count = runs.nearby(p, csum)
    end = csum[at + n]
    out = np.empty((len(rows), p.shape[1] * len(CONTEXT_PARTS)))
    out[runs.order] = np.hstack([
        runs.neighbour(p, -1), runs.neighbour(p, 1), runs.neighbour(p, -2),
        runs.neighbour(p, 2),
        near / np.maximum(1, count)[:, None],
        (end - p) / np.maximum(1, n - 1)[:, None],
        (end - csum[at + j + 1]) / np.maximum(1, n - j - 1)[:, None],
        csum[at + j] / np.maximum(1, j)[:, None],
    ])
    return out


def _proba(model: LogisticRegression, X, labels: Sequence[str] = LABELS) -> np.ndarray:
    """Probabilities in ``labels`` column order, zero for a label the model never saw."""
    return _in_order(linear_proba(model, X), model.classes_, labels)


def _in_order(raw: np.ndarray, classes: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    out = np.zeros((raw.shape[0], len(labels)))
    for col, label in enumerate(classes):
        out[:, list(labels).index(label)] = raw[:, col]
    return out


class TwoStage:
    """A local model over precomputed features, then a context model over its neighbours."""

    def __init__(self, labels: Sequence[str], C: float, context_C: float, folds: int,
                 class_weight: str | None) -> None:
        self.labels = tuple(labels)
        self.C, self.context_C, self.folds, self.class_weight = C, context_C, folds, class_weight

    def _linear(self, C: float) -> LogisticRegression:
        return LogisticRegression(C=C, max_iter=5000, class_weight=self.class_weight,
                                  solver="newton-cg")

    def fit(self, rows: Sequence[Row], X: sp.csr_matrix, y: np.ndarray,
            groups: np.ndarray) -> TwoStage:
        """Rows whose label is None still give their neighbours a context."""
        labeled = np.array([label is not None for label in y])
        self.local_ = self._linear(self.C).fit(X[labeled], y[labeled].astype(str))
        oof = np.zeros((len(rows), len(self.labels)))
        folds = min(self.folds, len(set(groups[labeled])))
        for train, test in GroupKFold(n_splits=folds).split(X, y, groups):
            keep = train[labeled[train]]
            model = self._linear(self.C).fit(X[keep], y[keep].astype(str))
            oof[test] = _proba(model, X[test], self.labels)
        Z = sp.hstack([X, sp.csr_matrix(context_matrix(rows, oof))]).tocsr()
        self.context_ = self._linear(self.context_C).fit(Z[labeled], y[labeled].astype(str))
        return self

    def combined(self, rows: Sequence[Row], X: sp.csr_matrix) -> sp.csr_matrix:
        first = _proba(self.local_, X, self.labels)
        return sp.hstack([X, sp.csr_matrix(context_matrix(rows, first))]).tocsr()

    def proba(self, rows: Sequence[Row], X: sp.csr_matrix) -> np.ndarray:
        return self.proba_of_combined(self.combined(rows, X))

    def proba_of_combined(self, Z: sp.csr_matrix) -> np.ndarray:
        """``proba`` from ``combined``'s matrix, for a caller that already holds it."""
        return _proba(self.context_, Z, self.labels)

    def proba_from_parts(self, rows: Sequence[Row], parts: Parts, local: SplitLinear,
                         context: SplitLinear, runs: Runs | None = None) -> np.ndarray:
        """``proba`` from the unassembled features (``local``/``context``: this stage's
        models, split by ``parts.SplitLinear``; ``runs``: ``document_runs(rows)``)."""
        first = _in_order(local.proba(parts), local.classes, self.labels)
        second = context.proba(parts, context_matrix(rows, first, runs))
        return _in_order(second, context.classes, self.labels)


class Gate:
    """Body versus rest: gradient-boosted trees over the dense columns and what the words
    say, then again with the neighbours' first-pass scores.

    Real pages are many and varied; a linear model over words and shape found only 0.82 of
    their paragraphs right on sites it had not seen (0.89 with this gate), because what
    marks furniture is interactions: short AND link-dense AND after the story. The trees
    cannot read forty thousand word columns, so a logistic model over them ("said:",
    "reply", "votes") gives one more column, out of fold by site in training: a comment
    section reads like prose, and only its words, and its neighbours' words through the
    second pass, tell it from the story. The second pass also reads where the paragraph
    lies against the page's main block (``mainblock``): a comment thread or a run of
    related-story ledes reads like prose, but lies outside the article's stretch, and a
    thread's frame (its heading, each commenter's line) marks it wherever it lies.
    """

    # Members past the first, in each pass; a gate pickled before members existed has none.
    more_local_: tuple = ()
    more_context_: tuple = ()

    def __init__(self, min_share: float = 0.004, max_iter: int = 120, folds: int = 2,
                 word_folds: int = 3, random_state: int = 0, members: int = 1) -> None:
        self.min_share, self.max_iter, self.folds = min_share, max_iter, folds
        self.word_folds, self.random_state = word_folds, random_state
        if members < 1:
            raise ValueError(f"a gate needs at least one member, got members={members}")
        self.members = members

    def _trees(self, member: int = 0) -> HistGradientBoostingClassifier:
        # Early stopping stays on ("auto"): it never stops before max_iter on real pages,
        # and training on every row instead moved no eval figure past the seeds' spread.
        # Members differ only by seed, i.e. by the tenth of rows it holds out.
        return HistGradientBoostingClassifier(max_iter=self.max_iter, learning_rate=0.15,
                                              max_leaf_nodes=31,
                                              random_state=self.random_state + member)

    def _fitted(self, D: np.ndarray, target: np.ndarray, weight: np.ndarray
                ) -> list[HistGradientBoostingClassifier]:
        return [self._trees(k).fit(D, target, sample_weight=weight) for k in range(self.members)]

    @staticmethod
    def _mean_positive(models: Sequence[HistGradientBoostingClassifier], X: np.ndarray
                       ) -> np.ndarray:
        """The members' mean P(body): which paragraphs sit near 1/2 depends on the random
        tenth each member held out, and averaging smooths those coin flips."""
        p = trees_positive(models[0], X)
        for model in models[1:]:
            p = p + trees_positive(model, X)
        return p / len(models)  # exact for one member: x / 1.0 is x

    def first_pass(self, D: np.ndarray) -> np.ndarray:
        """P(body) from the gate's own columns alone, the second pass's input."""
        return self._mean_positive([self.local_, *self.more_local_], D)

    @staticmethod
    def _words_model() -> LogisticRegression:
        return LogisticRegression(C=1.0, solver="liblinear", max_iter=2000)

    def _dense(self, X: sp.csr_matrix) -> np.ndarray:
        """The gate's own columns of X, then the words' opinion (as ``parts.GateColumns``
        computes it, so both paths give the trees the same numbers)."""
        words = self.words_
        said = X[:, :words.n_features_in_] @ words.coef_.ravel() + words.intercept_[0]
        return np.column_stack([X[:, self.columns_].toarray(), said])

    def fit(self, rows: Sequence[Row], X: sp.csr_matrix, y: np.ndarray, groups: np.ndarray,
            first_column: int, weight: np.ndarray | None = None) -> Gate:
        """``first_column``: where the non-word columns of X start; y: body/other/None;
        ``weight``: one sample weight per row (default 1)."""
        weight = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        labeled = np.array([label is not None for label in y])
        target = np.array([label == "body" for label in y])
        counts = np.asarray((X[labeled][:, first_column:] != 0).sum(axis=0)).ravel()
        self.columns_ = first_column + np.flatnonzero(counts >= self.min_share * labeled.sum())
        words = X[:, :first_column]
        at = np.flatnonzero(labeled)
        self.words_ = self._words_model().fit(words[at], target[at], sample_weight=weight[at])
        D = self._dense(X)
        # In training the trees must see what the words say of sites they were not fitted
        # on, or they learn to trust a column that is right by memory.
        sites = len(set(groups[at]))
        if sites >= 2:
            for train, test in GroupKFold(n_splits=min(self.word_folds, sites)).split(
                    at, groups=groups[at]):
                model = self._words_model().fit(words[at[train]], target[at[train]],
                                                sample_weight=weight[at[train]])
                D[at[test], -1] = model.decision_function(words[at[test]])
        self.local_, *more = self._fitted(D[labeled], target[labeled], weight[labeled])
        self.more_local_ = tuple(more)
        folds = min(self.folds, sites)
        if folds < 2:  # one site only: nothing to hold out, so in-sample guesses
            oof = self.first_pass(D)
        else:
            oof = np.zeros(len(rows))
            for train, test in GroupKFold(n_splits=folds).split(D, target, groups):
                keep = train[labeled[train]]
                oof[test] = self._mean_positive(
                    self._fitted(D[keep], target[keep], weight[keep]), D[test])
        Z = self.second_pass(rows, D, oof)
        self.context_, *more = self._fitted(Z[labeled], target[labeled], weight[labeled])
        self.more_context_ = tuple(more)
        return self

    def body(self, rows: Sequence[Row], X: sp.csr_matrix) -> np.ndarray:
        return self.body_of(rows, self._dense(X))

    def body_of(self, rows: Sequence[Row], D: np.ndarray, thread: np.ndarray | None = None,
                runs: Runs | None = None) -> np.ndarray:
        """P(body) from the gate's own columns (``_dense``) of ``rows`` (``thread``: their
        ``comment_matrix``, ``runs``: their ``document_runs``, when the caller has them)."""
        return self._mean_positive([self.context_, *self.more_context_], self.second_pass(
            rows, D, self.first_pass(D), thread, runs))

    @staticmethod
    def second_pass(rows: Sequence[Row], D: np.ndarray, body: np.ndarray,
                    thread: np.ndarray | None = None, runs: Runs | None = None) -> np.ndarray:
        """What the second pass reads: the gate's own columns ``D``, what the first pass
        (``body``: its P(body) per row) says of the neighbours, where each row lies
        against its page's main block, and against its comment thread (``thread``,
        ``comments.comment_matrix`` of the rows, computed when not given)."""
        runs = document_runs(rows) if runs is None else runs
        if thread is None:
            thread = comment_matrix(rows, runs)
        return np.hstack([D, context_matrix(rows, np.column_stack([body, 1.0 - body]), runs),
                          main_block_matrix(rows, body, runs), thread])


def in_html(rows: Sequence[Row]) -> np.ndarray:
    """True for each row of an HTML document (``types_weights``' ``markup``)."""
    return np.fromiter((r.doc.format is Format.HTML for r in rows), bool, len(rows))


class ParagraphClassifier(ClassifierMixin, BaseEstimator):
    """Rows in, probabilities over LABELS out (see the module docstring).

    ``fit`` takes the four labels for seed paragraphs, and "body", "other" or None for the
    paragraphs of real pages (``real`` marks those rows), which are known only to be body
    or not. The four-way model is trained on the seeds alone, so real pages never blur
    the contamination types. With real pages, a body-versus-rest gate is trained on
    every row, real and seed (a seed's label read as body or not), and P(body) combines
    both opinions (see ``predict_proba``).
    """

    def __init__(self, C: float = 4.0, context_C: float = 4.0, inner_folds: int = 5,
                 class_weight: str | None = "balanced", types_weight: float = 0.7,
                 boilerplate_weight: float = 0.2, seed_share: float = 0.05,
                 gate_seed: int = 0, gate_members: int = 1):
        self.C = C
        self.context_C = context_C
        self.inner_folds = inner_folds
        self.class_weight = class_weight
        self.types_weight = types_weight
        self.boilerplate_weight = boilerplate_weight
        self.seed_share = seed_share
        # The gate's trees hold out a random tenth of their rows to stop early; another
        # seed is another equally good model, so the spread of `make eval` over
        # EVAL_ARGS="--gate-seed N" is how far retraining alone moves the figures.
        self.gate_seed = gate_seed
        self.gate_members = gate_members

    def _stage(self, labels: Sequence[str]) -> TwoStage:
        return TwoStage(labels, self.C, self.context_C, self.inner_folds, self.class_weight)

    def fit(self, rows: Sequence[Row], y: Sequence[str | None],
            groups: Sequence[int] | None = None, real: Sequence[bool] | None = None,
            real_weight: Sequence[float] | None = None):
        """``y``: a label of LABELS for seed rows; body/"other"/None for ``real`` rows;
        ``real_weight``: the gate's weight of each real row (default 1; read for real rows
        only, the seeds' weight is ``seed_share``)."""
        y = np.asarray(y, dtype=object)
        real = np.zeros(len(y), dtype=bool) if real is None else np.asarray(real, dtype=bool)
        groups = np.asarray(groups) if groups is not None else np.array([r.key for r in rows])
        self.classes_ = np.array(LABELS)
        self.features_ = ParagraphFeatures().fit(
            [r for r, label in zip(rows, y, strict=True) if label is not None])
        X = self.features_.transform(rows).tocsr()
        typed = ~real
        type_rows = [r for r, t in zip(rows, typed, strict=True) if t]
        self.types_ = self._stage(LABELS).fit(type_rows, X[typed], y[typed], groups[typed])
        self.gate_ = None
        if real.any():
            binary = np.array([label if is_real or label is None
                               else ("body" if label == "body" else "other")
                               for label, is_real in zip(y, real, strict=True)], dtype=object)
            gate = Gate(random_state=self.gate_seed, members=self.gate_members)
            self.gate_ = gate.fit(rows, X, binary, groups,
                                  len(self.features_.words_.vocabulary_),
                                  self._gate_weights(binary, real, real_weight))
        return self

    def _gate_weights(self, y: np.ndarray, real: np.ndarray,
                      real_weight: Sequence[float] | None = None) -> np.ndarray:
        """Sample weights: ``real_weight`` for real rows (default 1), and for the labeled
        seed rows ``seed_share`` of the gate's training weight (never less than 1 each).

        Seeds are the only rows labeled by hand to LABELS.md; without this, every page
        added to training would dilute them (all four corpora are a hundred times the
        seeds, and the seeds' cross-validated macro F1 fell from 0.953 to 0.945).
        """
        labeled = np.array([label is not None for label in y])
        weight = (np.ones(len(y)) if real_weight is None
                  else np.asarray(real_weight, dtype=np.float64).copy())
        seeds, pages = int((labeled & ~real).sum()), float(weight[labeled & real].sum())
        weight[~real] = 1.0
        if seeds and pages:
            share = self.seed_share
            weight[~real] = max(1.0, share * pages / ((1 - share) * seeds))
        return weight

    def combined_features(self, rows: Sequence[Row]) -> sp.csr_matrix:
        """The matrix the four-way stage two reads: local features plus neighbours."""
        return self.types_.combined(rows, self.features_.transform(rows).tocsr())

    def predict_proba(self, rows: Sequence[Row]) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, len(LABELS)))
        split = _split(self)
        # Our own matrices are finite and well-formed: skip re-checking them on every call.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            parts = self.features_.transform_parts(rows)
            runs = document_runs(rows)
            typed = self.types_.proba_from_parts(rows, parts, split.local, split.context,
                                                 runs)
            if self.gate_ is None:
                return typed
            thread = comment_matrix(rows, runs)
            gate = self.gate_.body_of(rows, split.gate.gather(parts), thread, runs)
            w = self.types_weights(parts.words, thread, typed, in_html(rows))
        # Two opinions on "is this body": the gate, which learned from real pages and
        # seeds alike, and the seeds' four-way model, which knows transcripts and teasers
        # (real pages call interview turns body). A weighted product of experts: either
        # can veto, and the four-way model, which has seen no real page, weighs at most
        # ``types_weight`` (see ``types_weights``), and nothing beside a comment thread.
        agree = typed[:, 0] ** w * gate
        body = agree / np.maximum(agree + (1 - typed[:, 0]) ** w * (1 - gate), 1e-12)
        rest = typed[:, 1:]
        total = rest.sum(axis=1, keepdims=True)
        rest = np.where(total > 0, rest / np.where(total > 0, total, 1), 1 / rest.shape[1])
        return np.column_stack([body, (1 - body)[:, None] * rest])

    def types_weights(self, words: sp.csr_matrix, thread: np.ndarray | None = None,
                      typed: np.ndarray | None = None,
                      markup: np.ndarray | None = None) -> np.ndarray:
        """The four-way model's weight against the gate, per row of the word columns:
        ``types_weight`` times the square of the share of the row's word weight (its
        squared tf-idf values) on words the seeds taught it; a row with no word of the
        vocabulary keeps the whole weight. With ``thread`` (the rows' ``comment_matrix``),
        zero for a row with a commenter's line within three paragraphs. With ``typed``
        (the four-way model's probabilities of the rows) and ``markup`` (True for a row
        of an HTML document), ``types_weight`` holds in HTML for the share of its "not
        body" that the four-way model calls transcript or promo, ``boilerplate_weight``
        for the share it calls boilerplate.

        What the seeds teach and real pages cannot is which kind a dropped paragraph is:
        an interview's turns and a teaser for another story are body on real pages and
        not in LABELS.md. Furniture in HTML is another matter: the gate reads the markup
        (containers, tags, links), which the four-way model, trained on text, never saw.
        Out of fold by site (the five ``make eval`` models, the same paragraphs'
        opinions recombined), against ``types_weight`` throughout: scrapinghub HTML F1
        0.9423 -> 0.9493, readability 0.9035 -> 0.9062, wcxb 0.9399 -> 0.9419,
        trafilatura_eval's kept snippets 0.9387 -> 0.9448 (removed 0.9096 -> 0.9083). In
        text both read the same words, and the seeds (text) say the veto holds: with the
        rule in text mode too, their cross-validated macro F1 fell from 0.9551 to 0.9529
        (boilerplate F1 0.969 -> 0.964), and scrapinghub text F1 went 0.8853 -> 0.8837.

        The seeds hold no comment thread: a reader's comment is prose to the four-way
        model, which outvoted the gate on it (P(body) 0.99 against the gate's 0.03 gives
        0.45 to 0.55). Out of fold by site against the same models with the weight
        kept: scrapinghub HTML F1 0.9400 -> 0.9423, text 0.8818 -> 0.8853;
        trafilatura_eval's snippet figures within 0.0003.

        The seeds are English news; on a paragraph in German or Japanese, or of a site's
        own jargon, the four-way model reads only shape and position, and its veto there
        dropped article text. ``make eval`` against a flat weight (out of fold by site,
        all pages): trafilatura_eval's kept snippets 0.893 -> 0.927, wcxb HTML F1 0.923
        -> 0.934, wcxb text F1 0.911 -> 0.924, removed snippets 0.920 -> 0.897.
        """
        known = _split(self).known
        per_row = np.diff(words.indptr)
        # On the CSR arrays, as ``parts.GateColumns.gather`` reads them: scipy's
        # elementwise ``multiply`` re-checked and rebuilt a matrix on every call.
        share = np.bincount(np.repeat(np.arange(len(per_row)), per_row),
                            weights=words.data ** 2 * known[words.indices],
                            minlength=len(per_row))
        # No word of the vocabulary at all ("spot_imgspot_img", a lone date): the model
        # reads shape alone, as it learned to on the seeds' own junk.
        share[per_row == 0] = 1.0
        known = np.minimum(share, 1.0) ** 2
        weight = self.types_weight * known
        if typed is not None and markup is not None and markup.any():
            rest = typed[:, 1:].sum(axis=1)
            named = typed[:, LABELS.index("transcript")] + typed[:, LABELS.index("promo")]
            kind = np.divide(named, rest, out=np.zeros_like(rest), where=rest > 0)
            low = self.boilerplate_weight
            weight[markup] = (known * (low + (self.types_weight - low) * kind))[markup]
        if thread is not None:
            weight[near_commenters(thread)] = 0.0
        return weight

    def predict(self, rows: Sequence[Row]) -> np.ndarray:
        return np.array(LABELS)[self.predict_proba(rows).argmax(axis=1)]

    def feature_names(self) -> list[str]:
        """A readable name for every column of ``combined_features``."""
        return list(self.features_.get_feature_names_out()) + context_names()


class _Split:
    """A fitted classifier's stages split by column group (``parts``), derived once."""

    def __init__(self, model: ParagraphClassifier) -> None:
        layout = model.features_.layout()
        self.local = SplitLinear(model.types_.local_, layout)
        self.context = SplitLinear(model.types_.context_, layout)
        # Words the four-way model was fitted on: a word it never saw keeps a zero weight.
        self.known = (self.local.words != 0).any(axis=1).astype(np.float64)
        self.gate = (GateColumns(model.gate_.columns_, layout, model.gate_.words_)
                     if model.gate_ is not None else None)


_SPLITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _split(model: ParagraphClassifier) -> _Split:
    # Held with the stages it was derived from: a model fitted again is split again.
    stages = (model.features_, model.types_, model.gate_)
    cached = _SPLITS.get(model)
    if cached is None or any(a is not b for a, b in zip(cached[0], stages, strict=True)):
        cached = _SPLITS[model] = (stages, _Split(model))
    return cached[1]


__all__ = ["Gate", "ParagraphClassifier", "TwoStage", "context_matrix", "in_html"]
