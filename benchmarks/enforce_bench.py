"""A no-op `cgcloud enforce` pass on an applied state (issue 5, target < 5 s). Run by hand:

    flock /tmp/cgcloud-devcloud.lock python benchmarks/enforce_bench.py            # 100 systems, 5,000 rows
    flock /tmp/cgcloud-devcloud.lock python benchmarks/enforce_bench.py --systems 4 --rows 200

1. Generates a synthetic repository (benchmarks/generate.py) and applies it with the
   engine at --now (as reconcile_bench.py's first apply).
2. Runs `cgcloud enforce REPO --cloud C --now NOW --format json` --passes times, each
   a whole process (interpreter, imports, validate, compile, lock, read, decide,
   release), and prints its wall time, the pass's own time and API requests (from the
   JSON) and what it did. At --now every window is open and no shutdown date has come,
   so a pass should change nothing ("no-op": every action is a report).
3. Deletes what it created.

`reconcile_bench.py --enforce N` runs the same passes on its full-size state (one
apply for both benchmarks). The devcloud is shared: always run under the flock.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def enforce_passes(cloud: str, root: Path, now: str, passes: int) -> list[dict[str, Any]]:
    """Run `cgcloud enforce` `passes` times as a subprocess; one dict per pass."""
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        cmd = [sys.executable, "-m", "cgcloud", "enforce", str(root), "--cloud", cloud,
               "--now", now, "--format", "json", "--records", f"{scratch}/records",
               "--audit-log", f"{scratch}/audit.jsonl"]
        for _ in range(passes):
            t0 = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.monotonic() - t0
            if proc.returncode != 0:
                raise SystemExit(f"enforce exited {proc.returncode}: {proc.stderr[-2000:]}")
            doc = json.loads(proc.stdout)
            audit = Path(scratch, "audit.jsonl")
            out.append({"wall": wall, "seconds": doc["seconds"], "requests": doc["requests"],
                        "actions": Counter(f"{a['verb']}/{a['status']}" for a in doc["actions"]),
                        "audit_lines": len(audit.read_text().splitlines()) if audit.exists() else 0})
    return out


def print_passes(results: list[dict[str, Any]]) -> None:
    for i, r in enumerate(results, 1):
        acts = ", ".join(f"{k} {v}" for k, v in sorted(r["actions"].items())) or "none"
        print(f"enforce pass #{i}: {r['wall']:.2f} s wall (process), {r['seconds']:.2f} s in the "
              f"pass, {r['requests']} API requests; actions: {acts}; audit lines {r['audit_lines']}")


def main() -> None:
    sys.path.insert(0, str(HERE))
    import reconcile_bench as rb

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cloud", default="devcloud")
    ap.add_argument("--systems", type=int, default=100)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--now", default="2026-12-10T10:00+08:00")
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        state = rb.compile_repo(root, args.rows, args.systems, args.now)
        print(f"repository: {args.systems} systems, {args.rows} rows → {len(state.groups)} "
              f"groups, {len(state.rules)} rules")
        try:
            a = rb.apply(args.cloud, state)
            print(f"apply: {a['seconds']:.1f} s, {a['requests']} requests")
            print_passes(enforce_passes(args.cloud, root, args.now, args.passes))
        finally:
            print(f"cleanup: {rb.cleanup(args.cloud, state):.1f} s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
