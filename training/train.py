"""Train the shipped model from seeds/: grouped cross-validation, fit, write model + card.

    python -m training.train [--seeds seeds] [--out filter/model] [--folds 5] [--gate-seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import version as package_version
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold

from filter.artifact import MODEL_DIR, save_model
from filter.classifier import ParagraphClassifier
from filter.document import rows_of
from filter.errors import ContamFilterError
from filter.labels import LABELS
from filter.policy import Policy

from .annotations import LabeledDocument, load_seeds, seed_paragraphs_hash, seeds_hash
from .corpus import RealPages, load_real_pages

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DEFAULT_FOLDS = 5


def flatten(docs: list[LabeledDocument]):
    rows = rows_of(d.document for d in docs)
    y = np.array([label.value for d in docs for label in d.labels])
    groups = np.array([k for k, d in enumerate(docs) for _ in d.labels])
    return rows, y, groups


def fit(docs: list[LabeledDocument], real: RealPages | None = None,
        model: ParagraphClassifier | None = None) -> ParagraphClassifier:
    """The model on the seeds, plus a body-versus-rest gate when real pages are given."""
    fitted = clone(model) if model is not None else ParagraphClassifier()
    if real is None:
        rows, y, groups = flatten(docs)
        return fitted.fit(rows, y, groups)
    rows = rows_of([d.document for d in docs] + real.documents)
    y = [label.value for d in docs for label in d.labels]
    y += [label for labels in real.labels for label in labels]
    sites = {site: len(docs) + k for k, site in enumerate(dict.fromkeys(real.sites))}
    groups = [k for k, d in enumerate(docs) for _ in d.labels]
    groups += [sites[site] for site, labels in zip(real.sites, real.labels, strict=True)
               for _ in labels]
    seed_rows = sum(len(d.labels) for d in docs)
    is_real = [False] * seed_rows + [True] * (len(y) - seed_rows)
    weight = [1.0] * seed_rows + [w for w, labels in zip(real.weights(), real.labels, strict=True)
                                  for _ in labels]
    return fitted.fit(rows, y, groups, is_real, weight)


def cross_validate(docs: list[LabeledDocument], folds: int = DEFAULT_FOLDS,
                   model: ParagraphClassifier | None = None,
                   real: RealPages | None = None, log=None) -> dict:
    """Out-of-fold predictions on the seeds, split by document, and their metrics.

    With real pages, each fold's model is trained on all of them plus its fold's seeds:
    the gate learns from the seeds too, so no test seed may reach it.
    """
    rows, y, groups = flatten(docs)
    predicted = np.empty(len(y), dtype=object)
    for k, (train, test) in enumerate(GroupKFold(n_splits=folds).split(rows, y, groups)):
        if log is not None and real is not None:  # minutes per fold with real pages
            log(f"  cross-validation fold {k + 1}/{folds}")
        if real is None:
            fitted = (clone(model) if model is not None else ParagraphClassifier())
            fitted.fit([rows[i] for i in train], y[train])
        else:
            fitted = fit([docs[i] for i in sorted(set(groups[train]))], real, model)
        predicted[test] = fitted.predict([rows[i] for i in test])
    return metrics(y, predicted.astype(str), docs, groups)


def metrics(y: np.ndarray, predicted: np.ndarray, docs=None, groups=None) -> dict:
    p, r, f, s = precision_recall_fscore_support(y, predicted, labels=list(LABELS), zero_division=0)
    per_label = {
        label: {"precision": round(float(p[k]), 4), "recall": round(float(r[k]), 4),
                "f1": round(float(f[k]), 4), "support": int(s[k])}
        for k, label in enumerate(LABELS)
    }
    kept_true = y == "body"
    kept_pred = predicted == "body"
    tp = int((kept_true & kept_pred).sum())
    body = {
        "precision": round(tp / max(1, int(kept_pred.sum())), 4),
        "recall": round(tp / max(1, int(kept_true.sum())), 4),
    }
    out = {
        "per_label": per_label,
        "macro_f1": round(float(np.mean(f)), 4),
        "accuracy": round(float((y == predicted).mean()), 4),
        "keep_body": body,
        "confusion": {
            "labels": list(LABELS),
            "matrix": confusion_matrix(y, predicted, labels=list(LABELS)).tolist(),
        },
        "paragraphs": len(y),
    }
    if docs is not None:
        out["documents"] = len(docs)
    return out


def format_metrics(m: dict) -> str:
    lines = [f"{'label':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}"]
    for label, v in m["per_label"].items():
        lines.append(f"{label:<12} {v['precision']:>9.3f} {v['recall']:>7.3f} {v['f1']:>6.3f} "
                     f"{v['support']:>8}")
    lines.append(f"{'macro F1':<12} {m['macro_f1']:>32.3f}")
    lines.append(f"accuracy {m['accuracy']:.3f}; keeping body: precision "
                 f"{m['keep_body']['precision']:.3f}, recall {m['keep_body']['recall']:.3f}")
    lines.append("")
    lines.append("confusion (rows: true, columns: predicted)")
    labels = m["confusion"]["labels"]
    lines.append(f"{'':<12}" + "".join(f"{lab:>12}" for lab in labels))
    for lab, row in zip(labels, m["confusion"]["matrix"], strict=True):
        lines.append(f"{lab:<12}" + "".join(f"{v:>12}" for v in row))
    return "\n".join(lines)


def train(seeds: Path = SEEDS, out: Path = MODEL_DIR, folds: int = DEFAULT_FOLDS,
          log=print, corpora: Path | None = None, corpus_limit: int | None = None,
          gate_seed: int = 0, gate_members: int = 1, seed_share: float | None = None) -> dict:
    start = time.perf_counter()
    docs = load_seeds(seeds)
    data_hash = seeds_hash(seeds)
    log(f"read {len(docs)} documents, {sum(len(d.labels) for d in docs)} paragraphs "
        f"from {seeds} (data hash {data_hash[:12]})")
    real = None
    if corpora is not None:
        real = load_real_pages(corpora, corpus_limit)
        log("real pages: " + ", ".join(f"{c['name']} {c['pages']} pages "
                                       f"({c['labeled_paragraphs']} paragraphs aligned)"
                                       for c in real.corpora))
    model = ParagraphClassifier(gate_seed=gate_seed, gate_members=gate_members)
    if seed_share is not None:  # None: the classifier's own default
        model.set_params(seed_share=seed_share)
    cv = cross_validate(docs, folds, model, real, log)
    log(f"\ncross-validation, {folds} folds grouped by document:\n{format_metrics(cv)}\n")
    y = flatten(docs)[1]
    model = fit(docs, real, model)
    policy = Policy()  # the card records the policy every shell applies by default
    card = {
        "name": "contamfilter",
        "version": package_version("contamfilter"),
        "labels": list(LABELS),
        "policy": policy.record(),
        "training_data": {
            "seeds_sha256": data_hash,
            "seed_paragraphs_sha256": seed_paragraphs_hash(docs),
            "documents": len(docs),
            "text_documents": sum(d.document.format == "text" for d in docs),
            "html_pages": sum(d.document.format == "html" for d in docs),
            "paragraphs": len(y),
            "label_counts": {lab: int((y == lab).sum()) for lab in LABELS},
            "corpora": real.corpora if real is not None else [],
        },
        "model": {"class": "filter.classifier.ParagraphClassifier",
                  "params": model.get_params()},
        "cross_validation": {"folds": folds, "grouped_by": "document", **cv},
    }
    card = save_model(model, card, out)
    log(f"wrote {out} (version {card['version']}, sha256 {card['sha256'][:12]}) "
        f"in {time.perf_counter() - start:.1f} s")
    return card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=Path, default=SEEDS, help="labeled documents (default: seeds/)")
    ap.add_argument("--out", type=Path, default=MODEL_DIR, help="where the model and card go")
    ap.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help="cross-validation folds")
    ap.add_argument("--corpora", type=Path, default=None,
                    help="also learn body-versus-rest from real pages (../shared/corpora)")
    ap.add_argument("--corpus-limit", type=int, default=None, metavar="N",
                    help="at most N pages of each corpus (quick runs)")
    ap.add_argument("--gate-seed", type=int, default=0, metavar="N",
                    help="seed of the gate's trees (another seed: another equally good model)")
    ap.add_argument("--gate-members", type=int, default=1, metavar="N",
                    help="average N gates that differ only by seed (N times the gate's "
                         "training and its trees' share of scoring time)")
    ap.add_argument("--seed-share", type=float, default=None, metavar="S",
                    help="the seeds' share of the gate's training weight when real pages "
                         f"are read (default {ParagraphClassifier().seed_share})")
    args = ap.parse_args(argv)
    if args.seed_share is not None and not 0 < args.seed_share < 1:
        ap.error(f"--seed-share must be between 0 and 1, not {args.seed_share}")
    try:
        train(args.seeds, args.out, args.folds, corpora=args.corpora,
              corpus_limit=args.corpus_limit, gate_seed=args.gate_seed,
              gate_members=args.gate_members, seed_share=args.seed_share)
    except (ContamFilterError, FileNotFoundError) as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
