"""Why a paragraph got its label: the features that pushed it there, in words.

A paragraph's probabilities come from two models (``classifier``): a four-way logistic
model (words, shape, position, page facts, and its neighbours' first-pass scores) and,
in a model trained on real pages, a body-versus-rest gate of boosted trees. Both are
read the same way, as log-odds contributions per named feature:

- logistic: (x - the document's average x) times (coefficient of the label - coefficient
  of body), so a reason says what sets this paragraph apart on its own page; scaled by
  the weight the product of experts gives the four-way model;
- trees: the path contributions of the gate (each split's change of the node value, the
  Saabas decomposition; the contributions and the tree's start add up to its raw score),
  negated when the label is not body, since the gate only says "body or not".

"Towards its label" means away from body for a paragraph dropped as furniture, teaser or
transcript, and away from the runner-up label for a body paragraph. The strongest three
contributions (by default) are named in words by ``describe``.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .classifier import ParagraphClassifier, context_names, in_html
from .comments import NAMES as COMMENTS
from .comments import comment_matrix
from .document import Row
from .features import _group, document_runs
from .inference import _trees
from .labels import LABELS
from .mainblock import NAMES as MAIN_BLOCK

TOP = 3


@dataclass(frozen=True, slots=True)
class Reason:
    feature: str  # the column's name, as the model card and feature_names() give it
    text: str  # the same, in words, and which way this paragraph differs
    weight: float  # log-odds towards the paragraph's label

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "text": self.text, "weight": round(self.weight, 4)}


REPEAT = Reason("policy: drop repeats", "repeats kept text of the page word for word: a "
                "stretch printed twice, or one block merging a copy of kept paragraphs "
                "(dropped by rule, whatever the model says)", 0.0)


# --- words ------------------------------------------------------------------------

# (when this paragraph has more of it than its page's average, when less)
_PHRASES = {
    "similarity to rest of document": ("on the topic of this document",
                                       "off-topic for this document"),
    "similarity to long paragraphs": ("reads like the article's long paragraphs",
                                      "unlike the article's long paragraphs"),
    "best similarity to another paragraph": ("close to another paragraph here",
                                             "unlike any other paragraph here"),
    "similarity to neighbours": ("on the topic of its neighbours",
                                 "off the topic of its neighbours"),
    "similarity to document opening": ("on the topic of the opening",
                                       "off the topic of the opening"),
    "short and on topic": ("short but on topic", "not a short on-topic line"),
    "no content words": ("no content words", "has content words"),
    "log chars": ("longer than most paragraphs here", "shorter than most paragraphs here"),
    "log words": ("more words than most paragraphs here", "fewer words than most here"),
    "one word": ("a single word", "more than one word"),
    "up to three words": ("three words or fewer", "more than three words"),
    "long paragraph": ("a long paragraph (40+ words)", "not a long paragraph"),
    "log sentences": ("several sentences", "few sentences"),
    "mean word length": ("long words", "short words"),
    "html link density": ("link-dense block", "few links"),
    "html emphasised text": ("mostly emphasised text", "little emphasised text"),
    "html depth": ("deeply nested in the page", "shallow in the page"),
    "relative position": ("late in the page", "early in the page"),
    "no closing punctuation": ("no closing punctuation", "ends with punctuation"),
    "speaker tags nearby": ("speaker tags nearby", "no speaker tags nearby"),
    "speaker tags in document": ("a document with speaker tags", "few speaker tags"),
    "questions nearby": ("questions nearby", "no questions nearby"),
    "in the wordiest container": ("in the page's wordiest block", "outside the page's wordiest "
                                  "block"),
    "inside wordiest container": ("inside the page's wordiest block", "outside the page's "
                                  "wordiest block"),
    "in the main block": ("in the page's main stretch of text",
                          "outside the page's main stretch of text"),
    "before the main block": ("before the page's main stretch of text",
                              "not before the page's main stretch of text"),
    "after the main block": ("after the page's main stretch of text",
                             "not after the page's main stretch of text"),
    "log furniture words to the main block": (
        "much furniture between it and the main text", "little furniture between it and "
        "the main text"),
    "main block's share of body-like words": (
        "a page whose article-like text is in one stretch",
        "a page whose article-like text is scattered"),
    "commenter line": ("a commenter's line (\"... says:\", \"2 days ago\", \"Reply\")",
                       "not a commenter's line"),
    "commenter lines within three": ("commenters' lines near it", "no commenter's line near it"),
    "commenter line just before": ("right after a commenter's line",
                                   "not right after a commenter's line"),
    "log commenter lines before": ("many commenters' lines before it",
                                   "few commenters' lines before it"),
    "after a comment-section heading": ("after a comment-section heading (\"34 responses\")",
                                        "before any comment-section heading"),
}
_NOUNS = ("speaker tag", "bold speaker tag", "markdown heading", "list item", "template junk")
_WHO = {"previous paragraph": "the previous paragraph", "next paragraph": "the next paragraph",
        "paragraph before previous": "the paragraph before the previous one",
        "paragraph after next": "the paragraph after the next one",
        "paragraphs within three": "nearby paragraphs", "whole document": "the whole page",
        "rest of document after": "the rest of the page after it",
        "document before": "the page before it"}
# The gate's column of what a logistic model over the paragraph's words says.
WORDING = "wording looks like body (gate)"
_LOOKS = re.compile(r"^(.*) looks like (\w+)(?: \(gate\))?$")
_KIND = {"body": "article text", "other": "page furniture"}


def describe(name: str, higher: bool | None) -> str:
    """A feature's name in words, for a paragraph with more (``higher``) or less of it
    than its page's average; None: the same as the average (a fact of the whole page)."""
    if higher is None:  # a fact of the whole page: named as such, or as the page has it
        bare = name.removesuffix(" (gate)")
        if bare.startswith("log "):
            return f"number of {bare[4:]}"
        if bare in _PHRASES:
            return bare
        higher = True
    if name in _PHRASES:
        return _PHRASES[name][0 if higher else 1]
    if name.startswith("word '"):
        word = name[len("word "):]
        return f"the words {word}" if " " in word else (
            f"the word {word}" if higher else f"lacks the word {word} used elsewhere here")
    for prefix, yes, no in (("class=", "in an element of class '{}'", "not in a '{}' element"),
                            ("inside=", "inside a '{}' section", "not inside a '{}' section"),
                            ("tag=", "a <{}> block", "not a <{}> block")):
        if name.startswith(prefix):
            return (yes if higher else no).format(name[len(prefix):])
    for side in ("previous", "next"):
        if name.startswith(f"{side}: "):
            return f"{side} paragraph: {describe(name[len(side) + 2:], higher)}"
        if name == f"{side} paragraph exists":
            return f"has a {side} paragraph" if higher else f"no {side} paragraph"
    match = _LOOKS.match(name)
    if match:
        who, kind = _WHO.get(match.group(1), match.group(1)), match.group(2)
        kind = _KIND.get(kind, kind)
        verb = "look" if who.endswith("paragraphs") else "looks"
        return f"{who} {verb} like {kind}" if higher else f"{who} {verb} less like {kind}"
    if name.startswith("share of "):
        return f"{'high' if higher else 'low'} {name}"
    if name.startswith("log "):
        return f"{'more' if higher else 'fewer'} {name[4:]}"
    if higher:
        return name
    for verb, negated in (("ends with", "does not end with"), ("starts with", "does not start "
                          "with"), ("contains", "does not contain"), ("repeats", "does not "
                          "repeat"), ("repeated", "not repeated")):
        if name.startswith(verb):
            return negated + name[len(verb):]
    if name.startswith(_NOUNS) or name.endswith(" at start"):
        return f"no {name}"
    return f"not {name}"


# --- contributions ----------------------------------------------------------------


def tree_contributions(model: Any, X: np.ndarray) -> tuple[np.ndarray, float]:
    """(rows x features) path contributions of a binary boosted-trees model, towards its
    positive class in log-odds, and the start they add to: contributions.sum(axis=1) +
    start is the model's raw score for each row."""
    trees = _trees(model)
    own = np.arange(len(trees.value))
    leaf = trees.left == own
    # scikit-learn shrinks leaf values by the learning rate, not the inner nodes' values.
    value = np.where(leaf, trees.value, trees.value * model.learning_rate)
    n = X.shape[0]
    at = np.broadcast_to(trees.roots, (n, len(trees.roots))).copy()
    rows = np.broadcast_to(np.arange(n)[:, None], at.shape)
    out = np.zeros((n, X.shape[1]))
    nan = bool(np.isnan(X).any())
    for _ in range(trees.depth):
        feature = trees.feature[at]
        x = X[rows, feature]
        left = x <= trees.threshold[at]
        if nan:
            left = np.where(np.isnan(x), trees.missing_left[at], left)
        nxt = np.where(left, trees.left[at], trees.right[at])
        np.add.at(out, (rows, feature), value[nxt] - value[at])
        at = nxt
    return out, trees.baseline + float(value[trees.roots].sum())


_NAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _names(model: ParagraphClassifier) -> tuple[np.ndarray, np.ndarray | None]:
    """Column names of the four-way stage two's matrix, and of the gate's."""
    cached = _NAMES.get(model)
    if cached is None:
        names = np.array(model.feature_names(), dtype=object)
        gate = None
        if model.gate_ is not None:
            local = model.features_.get_feature_names_out()
            gate = np.array(list(local[model.gate_.columns_]) + [WORDING]
                            + [f"{n} (gate)" for n in context_names(("body", "other"))]
                            + list(MAIN_BLOCK) + list(COMMENTS),
                            dtype=object)
        cached = _NAMES[model] = (names, gate)
    return cached


def explain_rows(model: ParagraphClassifier, rows: Sequence[Row], proba: np.ndarray,
                 labels: Sequence[str], top: int = TOP) -> list[tuple[Reason, ...]]:
    """The ``top`` strongest reasons for each row's label (``labels``, one per row)."""
    if not len(rows):
        return []
    names, gate_names = _names(model)
    X = model.features_.transform(rows).tocsr()
    Z = model.types_.combined(rows, X)
    coef = model.types_.context_.coef_
    row_of = {str(c): k for k, c in enumerate(model.types_.context_.classes_)}
    label_col = [LABELS.index(label) for label in labels]
    # The runner-up label of a body paragraph is what it was told apart from.
    ranked = np.argsort(-proba, axis=1)
    ref_col = [ranked[i, 1] if label_col[i] == 0 else 0 for i in range(len(rows))]
    # The four-way model's weight in the product with the gate, row by row.
    runs = document_runs(rows)
    thread = comment_matrix(rows, runs)
    scale = (model.types_weights(X[:, :model.features_.layout().words], thread,
                                 model.types_.proba_of_combined(Z), in_html(rows))
             if model.gate_ is not None else np.ones(len(rows)))
    gate = None
    if model.gate_ is not None:
        D = model.gate_._dense(X)
        G = model.gate_.second_pass(rows, D, model.gate_.first_pass(D), thread, runs)
        # A gate of several members (``gate_members``) scores with their mean; its reasons
        # are its first member's, which differs from the others only by seed.
        gate = (G, tree_contributions(model.gate_.context_, G)[0])
    out: list[tuple[Reason, ...]] = [()] * len(rows)
    body_col = row_of.get("body", -1)
    for _doc, positions in _group(rows):
        pos = np.array(positions)
        sub = Z[pos]
        cols = np.unique(sub.indices)
        dense = sub[:, cols].toarray()
        diff = dense - dense.mean(axis=0) if len(pos) > 1 else dense
        lab = np.array([row_of.get(LABELS[label_col[i]], -1) for i in pos])
        ref = np.array([row_of.get(LABELS[ref_col[i]], -1) for i in pos])
        linear = diff * (coef[lab][:, cols] - coef[ref][:, cols]) * scale[pos][:, None]
        # One row of weights (and of differences from the page's average, which say how
        # to word a feature) per paragraph, over the linear columns and then the gate's.
        if gate is None:
            weight, higher, named = linear, np.where(linear != 0, diff, 0.0), names[cols]
        else:
            weight, higher, named = _with_gate(model, names, gate_names, gate, pos, cols,
                                               linear, diff, lab == body_col)
        for k, i in enumerate(pos):
            if lab[k] < 0 or ref[k] < 0:
                continue
            best = np.argsort(-weight[k], kind="stable")[:top]
            out[i] = tuple(Reason(named[c], describe(named[c], _direction(higher[k, c])),
                                  float(weight[k, c])) for c in best if weight[k, c] > 0)
    return out


def _with_gate(model: ParagraphClassifier, names: np.ndarray, gate_names: np.ndarray,
               gate: tuple[np.ndarray, np.ndarray], pos: np.ndarray, cols: np.ndarray,
               linear: np.ndarray, diff: np.ndarray,
               is_body: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear weights plus the gate's, over the union of their columns: the gate's
    page columns are columns of the linear stage too (one feature, one reason), its
    neighbour columns come after."""
    G, contrib = gate
    local = model.gate_.columns_
    index = np.union1d(cols, local)
    at_linear, at_gate = np.searchsorted(index, cols), np.searchsorted(index, local)
    g = contrib[pos] * np.where(is_body, 1.0, -1.0)[:, None]
    g_sub = G[pos]
    g_diff = g_sub - g_sub.mean(axis=0) if len(pos) > 1 else g_sub
    n = len(local)
    weight = np.zeros((len(pos), len(index) + G.shape[1] - n))
    higher = np.zeros_like(weight)
    weight[:, at_linear] = linear
    higher[:, at_linear] = np.where(linear != 0, diff, 0.0)
    weight[:, at_gate] += g[:, :n]
    # A column the linear stage says nothing about is worded by the gate's difference.
    current = higher[:, at_gate]
    higher[:, at_gate] = np.where((current == 0) & (g[:, :n] != 0), g_diff[:, :n], current)
    weight[:, len(index):] = g[:, n:]
    higher[:, len(index):] = np.where(g[:, n:] != 0, g_diff[:, n:], 0.0)
    return weight, higher, np.concatenate([names[index], gate_names[n:]])


def _direction(diff: float) -> bool | None:
    return None if abs(diff) < 1e-12 else bool(diff > 0)
