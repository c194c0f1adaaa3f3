"""`make demo`: run the real `contamfilter` command on the seed documents and show,
paragraph by paragraph, what it kept and what it dropped, next to the human label.

    python -m training.demo [NAME ...]     (default: the five real seeds and one HTML page)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from .annotations import load_seeds
from .train import REPO, SEEDS

DEFAULT = ("000_", "001_", "002_", "003_", "004_", "html/p01_")
WIDTH = 96


def _command() -> list[str]:
    exe = shutil.which("contamfilter", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "filter"]


def main(argv: list[str] | None = None) -> int:
    wanted = tuple(argv if argv else sys.argv[1:]) or DEFAULT
    docs = [d for d in load_seeds(SEEDS)
            if d.name.removeprefix("seeds/").startswith(wanted)]
    out_dir = REPO / "build" / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for doc in docs:
        path = out_dir / Path(doc.name).name
        path.write_text(doc.raw, encoding="utf-8")
        files.append(path)
    cmd = [*_command(), "score", *map(str, files)]
    print("$ contamfilter score " + " ".join(str(f.relative_to(REPO)) for f in files))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    agree = total = dropped_body = 0
    for doc, line in zip(docs, proc.stdout.splitlines(), strict=True):
        report = json.loads(line)
        print(f"\n{'=' * WIDTH}\n{doc.name}: {report['counts']}, "
              f"{report['contamination']:.1%} of characters removed")
        for para, truth in zip(report["paragraphs"], doc.labels, strict=True):
            mark = "keep" if para["kept"] else "DROP"
            ok = para["label"] == truth.value
            agree += ok
            total += 1
            dropped_body += (not para["kept"]) and truth.value == "body"
            note = "" if ok else f"  (labeled {truth.value})"
            text = textwrap.shorten(para["text"].replace("\n", " / "), 70, placeholder=" ...")
            p = para["scores"][para["label"]]
            print(f"  {mark}  {para['label']:<11} {p:4.2f}  {text}{note}")
    print(f"\n{'=' * WIDTH}\n{len(docs)} documents: {agree}/{total} paragraphs agree with "
          f"the human labels; {dropped_body} body paragraph{'' if dropped_body == 1 else 's'} "
          "dropped.")
    print("These documents are in the training data; cross-validated figures: "
          "filter/model/card.json or `make train`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
