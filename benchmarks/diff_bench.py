"""The pure diff at full size, before and after the plan package split (issue 12).

    python benchmarks/diff_bench.py                  # 100 systems, 5,000 rows
    python benchmarks/diff_bench.py --base <commit>  # compare with plan.py of that commit

Generates the repository, applies it on the in-memory engine (no cloud), then times
a no-op plan: the engine's read and ``plan.diff`` of the read state, 5 runs each. With
``--base`` the same state goes through ``cgcloud/plan.py`` of that commit too (loaded
from git as a module), so the split's cost is measured on one machine at one time.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import compile_repo

from cgcloud import plan as planner
from cgcloud.engines.memory import MemoryEngine

ROOT = Path(__file__).resolve().parents[1]


def _old_plan(commit: str) -> Any:
    text = subprocess.run(
        ["git", "show", f"{commit}:cgcloud/plan.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "plan_before.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("plan_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["plan_before"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--systems", type=int, default=100)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--now", default="2026-12-10T10:00+08:00")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--base", help="a commit whose cgcloud/plan.py to compare with")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = compile_repo(Path(tmp) / "repo", args.rows, args.systems, args.now)
    eng = MemoryEngine("bench")
    old = _old_plan(args.base) if args.base else None
    t0 = time.monotonic()
    actual = eng.read(state)
    first = planner.diff(state, actual)
    if old is not None:  # the first plan (everything to create) is the same too
        before = old.diff(state, actual)
        assert [c.to_dict() for c in before.changes] == [c.to_dict() for c in first.changes]
        print(f"first plan: {len(first.changes)} changes, the same with {args.base[:10]}")
    outcome = eng.apply(state, first, actual)
    assert outcome.ok, [s.error for s in outcome.failed][:3]
    eng.record_fingerprints(first.fingerprints, outcome)
    print(
        f"{args.systems} systems, {args.rows} rows: {len(state.groups)} groups, "
        f"{len(state.rules)} rules; first apply on the memory engine "
        f"{time.monotonic() - t0:.1f} s"
    )
    reads, diffs, olds = [], [], []
    for _ in range(args.runs):
        t0 = time.monotonic()
        actual = eng.read(state)
        reads.append(time.monotonic() - t0)
        t0 = time.monotonic()
        plan = planner.diff(state, actual)
        diffs.append(time.monotonic() - t0)
        assert not plan.has_changes, plan.summary
        if old is not None:
            t0 = time.monotonic()
            before = old.diff(state, actual)
            olds.append(time.monotonic() - t0)
            assert [c.to_dict() for c in before.changes] == [c.to_dict() for c in plan.changes]
    print(
        f"read (memory engine) median {statistics.median(reads):.3f} s; "
        f"diff median {statistics.median(diffs):.3f} s (min {min(diffs):.3f})"
    )
    if olds:
        print(
            f"diff of {args.base[:10]} median {statistics.median(olds):.3f} s "
            f"(min {min(olds):.3f}); same changes: yes"
        )


if __name__ == "__main__":
    main()
