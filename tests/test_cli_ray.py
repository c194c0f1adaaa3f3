"""``contamfilter ray``: the command a user types, run as a subprocess that starts its own
local Ray cluster (the library path is tested in test_distributed.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.annotations import load_seeds

from .conftest import SEEDS

pytest.importorskip("ray", reason="contamfilter ray needs ray: pip install 'contamfilter[ray]'")


def _lines(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def test_ray_command_cleans_every_record_once_and_prints_the_run_summary(tmp_path):
    seeds = load_seeds(SEEDS)
    records = [{"id": f"r{i}", "text": seeds[i % len(seeds)].raw} for i in range(100)
               if not seeds[i % len(seeds)].name.endswith(".html")]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records) + "not json\n")
    proc = subprocess.run(
        [sys.executable, "-m", "filter", "ray", str(source), "-o", str(tmp_path / "out"),
         "--rejected", str(tmp_path / "rejected"), "--concurrency", "2"],
        capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 1, proc.stderr  # the bad line
    assert "Traceback" not in proc.stderr
    summary = [m for m in proc.stderr.splitlines() if "documents in" in m]
    assert summary == [f"contamfilter: {len(records) + 1} documents in, {len(records)} out, "
                       + summary[0].split(" out, ", 1)[1]]
    out = _lines(tmp_path / "out")
    assert sorted(r.get("id", "") for r in out) == sorted(["", *(r["id"] for r in records)])
    (error,) = [r for r in out if "error" in r]
    assert error["error"].startswith(f"line {len(records) + 1}: invalid JSON")
    rejected = _lines(tmp_path / "rejected")
    assert rejected and {r["id"] for r in rejected} <= {r["id"] for r in records}
    assert all(r["label"] != "body" or r["score"] < 0.5 for r in rejected)


def test_ray_command_refuses_a_missing_input_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "filter", "ray", str(tmp_path / "nothing-*.jsonl"),
         "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
        check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("contamfilter: ")
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr
