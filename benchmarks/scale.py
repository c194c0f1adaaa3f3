"""Corpus-scale figures: worker processes, Ray, and memory on a large JSON Lines input.

    python -m benchmarks.scale [--docs 20000] [--gigabytes 1.0] [--skip-ray] [--out FILE]

Workload: the repository's 89 seed text documents, repeated (ids made unique) to
``--docs`` records of JSON Lines in a temporary folder; nothing from ../shared is used.

1. ``contamfilter clean --jsonl --workers 1`` and ``--workers 2`` on that file, as a user
   runs it (a subprocess, model loading and worker start-up included). The one-worker
   run is the peer: scaling efficiency is (rate with 2) / (2 x rate with 1).
2. The same records through ``filter.distributed.run`` on a local Ray cluster with 2 CPUs
   (in a subprocess; cluster start-up is timed apart from the run).
3. A ``--gigabytes`` JSON Lines file through ``--workers 2``, while this process samples
   the resident memory of the CLI and its workers (the sum). Memory is flat when the
   peak over the second half of the run is no higher than over 10-50% of it (the first
   tenth is start-up).

Prints a table, writes every figure as JSON (default reports/bench-scale.json).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.service_load import children_of, machine_facts, rss_mib

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_S = 0.2


def seed_texts() -> list[str]:
    from training.annotations import HTML_SUFFIX, load_seeds

    return [d.raw for d in load_seeds(ROOT / "seeds") if not d.name.endswith(HTML_SUFFIX)]


def write_corpus(path: Path, texts: Sequence[str], docs: int | None = None,
                 size: int | None = None) -> dict[str, Any]:
    """``docs`` records, or records until the file holds ``size`` bytes."""
    lines = [json.dumps({"text": t}, ensure_ascii=False)[1:] for t in texts]
    n = written = 0
    with open(path, "w", encoding="utf-8") as fh:
        while (docs is not None and n < docs) or (size is not None and written < size):
            line = f'{{"id": "doc-{n}", {lines[n % len(lines)]}\n'
            fh.write(line)
            written += len(line.encode("utf-8"))
            n += 1
    return {"documents": n, "bytes": written}


class TreeMemory:
    """Peak resident memory of a process and its children, sampled."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float, float]] = []  # (t, total MiB, largest MiB)

    def sample(self, t: float) -> None:
        rss = [r for r in map(rss_mib, [self.pid, *children_of(self.pid)]) if r is not None]
        if rss:
            self.samples.append((t, sum(rss), max(rss)))


def run_cli(path: Path, workers: int, documents: int,
            memory: bool = False) -> dict[str, Any]:
    command = [sys.executable, "-m", "filter", "clean", "--jsonl", "--workers", str(workers),
               str(path)]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        watch = TreeMemory(proc.pid)
        while proc.poll() is None:
            if memory:
                watch.sample(time.perf_counter() - start)
            time.sleep(SAMPLE_S)
        seconds = time.perf_counter() - start
        err = proc.stderr.read().decode() if proc.stderr else ""
        out.seek(0)
        lines = sum(1 for _ in out)
    if proc.returncode != 0 or lines != documents:
        raise SystemExit(f"CLI run failed ({proc.returncode}, {lines} of {documents} lines): "
                         f"{err[-2000:]}")
    result: dict[str, Any] = {"workers": workers, "documents": documents,
                              "seconds": round(seconds, 2),
                              "docs_per_s": round(documents / seconds, 1)}
    if memory and watch.samples:
        deciles = _deciles(watch.samples)
        # The first tenth is start-up (workers spawning, loading the model); from then on a
        # streaming run holds the same few chunks whatever it has read so far.
        early, late = max(deciles[1:5]), max(deciles[5:])
        result["memory"] = {
            "samples": len(watch.samples),
            "peak_total_mib": round(max(s[1] for s in watch.samples), 1),
            "peak_process_mib": round(max(s[2] for s in watch.samples), 1),
            "peak_total_10_to_50_percent_mib": early,
            "peak_total_50_to_100_percent_mib": late,
            "growth_second_half_mib": round(late - early, 1),
            "total_mib_by_decile": deciles,
        }
    return result


def _deciles(samples: list[tuple[float, float, float]]) -> list[float]:
    end = samples[-1][0] or 1.0
    out = []
    for k in range(10):
        inside = [s[1] for s in samples if k * end / 10 <= s[0] <= (k + 1) * end / 10]
        out.append(round(max(inside), 1) if inside else 0.0)
    return out


_RAY_SCRIPT = """
import json, sys, time
import ray
from filter.distributed import run
start = time.perf_counter()
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
started = time.perf_counter()
tally = run(sys.argv[1], sys.argv[2], command="clean", concurrency=2)
done = time.perf_counter()
ray.shutdown()
print(json.dumps({"startup_s": started - start, "run_s": done - started,
                  "documents": tally.records}))
"""


def run_ray(path: Path, out_dir: Path, documents: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", _RAY_SCRIPT, str(path), str(out_dir)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    written = sum(1 for f in out_dir.rglob("*") if f.is_file() for _ in f.open("rb"))
    return {"cpus": 2, "documents": figures["documents"], "lines_written": written,
            "startup_s": round(figures["startup_s"], 2), "seconds": round(figures["run_s"], 2),
            "docs_per_s": round(documents / figures["run_s"], 1)}


def render(result: dict[str, Any]) -> str:
    rows = [f"{'run':<34}{'docs':>8}{'secs':>9}{'docs/s':>9}", "-" * 60]
    for key in ("workers_1", "workers_2", "ray_2_cpus"):
        r = result.get(key)
        if r and "docs_per_s" in r:
            rows.append(f"{key:<34}{r['documents']:>8}{r['seconds']:>9}{r['docs_per_s']:>9}")
    rows.append("")
    rows.append(f"scaling efficiency, 2 workers vs 1: {result['scaling_efficiency']:.2f}")
    if "ray_vs_workers_2" in result:
        rows.append(f"Ray (2 CPUs) / CLI --workers 2: {result['ray_vs_workers_2']:.2f}")
    big = result.get("big")
    if big:
        m = big["memory"]
        rows.append(f"{big['bytes'] / 1e9:.2f} GB, {big['documents']} docs, --workers 2: "
                    f"{big['docs_per_s']} docs/s; peak RSS of CLI + workers "
                    f"{m['peak_total_mib']} MiB, largest process {m['peak_process_mib']} MiB;"
                    f" growth from the 10-50% of the run to the 50-100%: "
                    f"{m['growth_second_half_mib']:+} MiB")
        rows.append(f"  peak total MiB per tenth of the run: {m['total_mib_by_decile']}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--gigabytes", type=float, default=1.0,
                        help="size of the memory run's input (0 skips it)")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-scale.json")
    args = parser.parse_args(argv)
    texts = seed_texts()
    result: dict[str, Any] = {"machine": machine_facts(), "workload": {
        "what": f"the {len(texts)} seed text documents repeated, JSON Lines"}}
    with tempfile.TemporaryDirectory(prefix="contamfilter-scale-") as tmp:
        folder = Path(tmp)
        corpus = folder / "corpus.jsonl"
        result["workload"].update(write_corpus(corpus, texts, docs=args.docs))
        for workers in (1, 2):
            print(f"... CLI --workers {workers}", file=sys.stderr)
            result[f"workers_{workers}"] = run_cli(corpus, workers, args.docs)
        one, two = result["workers_1"]["docs_per_s"], result["workers_2"]["docs_per_s"]
        result["scaling_efficiency"] = round(two / (2 * one), 3)
        if not args.skip_ray:
            print("... Ray, local cluster with 2 CPUs", file=sys.stderr)
            ray = run_ray(corpus, folder / "ray-out", args.docs)
            result["ray_2_cpus"] = ray
            if "docs_per_s" in ray:
                result["ray_vs_workers_2"] = round(ray["docs_per_s"] / two, 3)
            else:
                print(f"Ray run failed: {ray['error']}", file=sys.stderr)
        corpus.unlink()
        if args.gigabytes > 0:
            big = folder / "big.jsonl"
            print(f"... writing {args.gigabytes} GB", file=sys.stderr)
            facts = write_corpus(big, texts, size=int(args.gigabytes * 1e9))
            print("... memory run, --workers 2", file=sys.stderr)
            result["big"] = {**facts, **run_cli(big, 2, facts["documents"], memory=True)}
    print(render(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nJSON: {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
