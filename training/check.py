"""Check every labeled document in seeds/ and say what is in them.

    python -m training.check [--seeds DIR]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from filter.errors import AnnotationError
from filter.labels import LABELS

from .annotations import load_seeds
from .train import SEEDS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.check", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=Path, default=SEEDS)
    args = ap.parse_args(argv)
    try:
        docs = load_seeds(args.seeds)
    except AnnotationError as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 1
    counts = Counter(label.value for d in docs for label in d.labels)
    kinds = Counter(d.document.format.value for d in docs)
    print(f"{len(docs)} documents ({kinds['text']} text, {kinds['html']} HTML), "
          f"{sum(counts.values())} paragraphs: "
          + ", ".join(f"{lab} {counts[lab]}" for lab in LABELS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
