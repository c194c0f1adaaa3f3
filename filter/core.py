"""Filter: the one entry point every shell uses. Load once, score many."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import compress
from pathlib import Path

import numpy as np

from .artifact import load_model
from .document import Document, Format, rows_of
from .errors import InputError, ModelError
from .labels import LABELS
from .policy import Policy
from .result import Result, ScoredParagraph
from .segment import segment

DEFAULT_MAX_BYTES = 5_000_000

# Scored once at load time: a model whose features no longer match this code (retrained
# with another version, or code changed without `make train`) fails here, not mid-stream.
_PROBE = "Share post:\n\nThe council voted on Tuesday to extend the bus lanes.\n\nSubscribe"


def check_size(raw: str, max_bytes: int) -> None:
    # Each character is at most 4 bytes in UTF-8, so most inputs skip the encode.
    if len(raw) * 4 > max_bytes and len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputError(f"document is larger than the limit of {max_bytes} bytes")


class Filter:
    """Scores documents with the shipped (or a given) model under a default policy.

    >>> f = Filter()
    >>> f.clean("Share post:\\n\\nThe council voted on Tuesday ...")
    """

    def __init__(self, model_dir: Path | str | None = None, policy: Policy | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.model, self.card = load_model(model_dir)
        self.policy = policy or Policy()
        self.max_bytes = max_bytes
        self._verify()

    def _verify(self) -> None:
        try:
            proba = self.probabilities([segment(_PROBE)])[0]
        except Exception as exc:  # any failure means the artifact does not fit this code
            raise ModelError(
                f"model {self.version} does not work with this contamfilter ({exc}): "
                "retrain with 'make train'") from None
        if proba.shape != (3, len(LABELS)) or not np.allclose(proba.sum(axis=1), 1.0):
            raise ModelError(f"model {self.version} gives malformed probabilities")

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unknown"))

    def segment(self, raw: str, fmt: Format | str | None = None) -> Document:
        if not isinstance(raw, str):
            raise InputError(f"expected text, got {type(raw).__name__}")
        check_size(raw, self.max_bytes)
        return segment(raw, fmt)

    def probabilities(self, documents: Sequence[Document]) -> list[np.ndarray]:
        """One (paragraphs x labels) matrix per document, scored in as few model calls as
        keep each call under ``CALL_PARAGRAPHS`` paragraphs (a longer document alone)."""
        out: list[np.ndarray] = []
        for group in _calls(documents, CALL_PARAGRAPHS):
            rows = rows_of(group)
            proba = self.model.predict_proba(rows) if rows else np.zeros((0, len(LABELS)))
            start = 0
            for doc in group:
                out.append(proba[start:start + len(doc)])
                start += len(doc)
        return out

    def score_documents(self, documents: Sequence[Document],
                        policy: Policy | Sequence[Policy] | None = None,
                        explain: bool | Sequence[bool] = False) -> list[Result]:
        """All ``documents`` scored together (``probabilities``: as few model calls as the
        paragraph limit allows); ``policy`` and ``explain`` (add each paragraph's reasons)
        may differ per document."""
        policies = (list(policy) if isinstance(policy, Sequence)
                    else [policy or self.policy] * len(documents))
        explains = list(explain) if isinstance(explain, Sequence) else [explain] * len(documents)
        probas = self.probabilities(documents)
        results = [self._result(doc, proba, pol) for doc, proba, pol
                   in zip(documents, probas, policies, strict=True)]
        wanted = [k for k, e in enumerate(explains) if e]
        if wanted:
            results = self._explained(results, [documents[k] for k in wanted],
                                      [probas[k] for k in wanted], wanted)
        return results

    def _explained(self, results: list[Result], docs: list[Document],
                   probas: list[np.ndarray], slots: list[int]) -> list[Result]:
        from .explain import REPEAT, explain_rows

        proba = np.vstack(probas)
        model_labels = [LABELS[k] for k in proba.argmax(axis=1)]
        reasons = iter(explain_rows(self.model, rows_of(docs), proba, model_labels))
        labels = iter(model_labels)
        results = list(results)
        for k in slots:
            paragraphs = []
            for p in results[k].paragraphs:
                why, model_label = next(reasons), next(labels)
                # A repeated stretch is boilerplate by the policy's rule, not by the model.
                why = (REPEAT,) if p.label.value != model_label else why
                paragraphs.append(replace(p, reasons=why))
            results[k] = replace(results[k], paragraphs=tuple(paragraphs))
        return results

    def score(self, raw: str, fmt: Format | str | None = None,
              policy: Policy | None = None, explain: bool = False) -> Result:
        return self.score_documents([self.segment(raw, fmt)], policy, explain)[0]

    def score_many(self, raws: Iterable[str], fmt: Format | str | None = None,
                   policy: Policy | None = None) -> list[Result]:
        return self.score_documents([self.segment(r, fmt) for r in raws], policy)

    def clean_documents(self, documents: Sequence[Document],
                        policy: Policy | None = None) -> list[str]:
        """Each document's ``clean_text`` as ``score_documents`` gives it, without the
        paragraph verdicts: building those (a dict of rounded scores per paragraph) was
        a twentieth of scoring a scrapinghub page."""
        pol = policy or self.policy
        out = []
        for doc, proba in zip(documents, self.probabilities(documents), strict=True):
            texts = doc.texts
            kept = pol.decide(texts, proba, doc.repeat_keys)[1]
            out.append(doc.separator.joiner.join(compress(texts, kept)))
        return out

    def clean(self, raw: str, fmt: Format | str | None = None,
              policy: Policy | None = None) -> str:
        return self.clean_documents([self.segment(raw, fmt)], policy)[0]

    def _result(self, doc: Document, proba: np.ndarray, policy: Policy) -> Result:
        texts = doc.texts
        labels, kept = policy.decide(texts, proba, doc.repeat_keys)
        # A list, positional arguments: a generator and keywords cost a third more here.
        paragraphs = tuple([
            ScoredParagraph(p.text, label, dict(zip(LABELS, row, strict=True)), keep)
            for p, row, label, keep in zip(doc.paragraphs, round_scores(proba), labels, kept,
                                           strict=True)
        ])
        clean = doc.separator.joiner.join(compress(texts, kept))
        return Result(paragraphs=paragraphs, clean_text=clean, model_version=self.version)


# A model call's fixed costs are spread over its documents, but past a few thousand
# paragraphs its matrices outgrow the caches: 64 scrapinghub pages (about 10,000
# paragraphs) in one call scored 82 pages/s, one at a time 80, cut at 2,000 paragraphs 93.
CALL_PARAGRAPHS = 2_000


def _calls(documents: Sequence[Document], limit: int) -> list[Sequence[Document]]:
    """``documents`` cut, in order, into runs of at most ``limit`` paragraphs (a document
    of more alone)."""
    calls: list[Sequence[Document]] = []
    start, size = 0, 0
    for k, doc in enumerate(documents):
        if size and size + len(doc) > limit:
            calls.append(documents[start:k])
            start, size = k, 0
        size += len(doc)
    if start < len(documents) or not calls:
        calls.append(documents[start:])
    return calls


def round_scores(proba: np.ndarray) -> list[list[float]]:
    """``[[round(v, 6) for v in row] for row in proba.tolist()]``, the same floats, in
    array operations (Python's round, value by value, was a quarter of building a Result)."""
    proba = np.asarray(proba, dtype=np.float64)
    scaled = proba * 1e6
    rows = (np.rint(scaled) / 1e6).tolist()  # k / 1e6 is the double nearest k / 10**6
    # For |v| <= 1 the product is within 1.2e-10 of v * 10**6, so rint picks round()'s
    # integer unless the product is that close to a half: those (and any |v| > 1, NaN,
    # inf) are rounded by Python.
    with np.errstate(invalid="ignore"):  # inf - inf for an infinite value: sent to Python
        unsure = ~((np.abs(scaled - np.floor(scaled) - 0.5) > 1e-6) & (np.abs(proba) <= 1.0))
    for i, j in zip(*np.nonzero(unsure), strict=True):
        rows[i][j] = round(float(proba[i, j]), 6)
    return rows
