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
import os
import tempfile
import time
from pathlib import Path

from benchlib import apply, cleanup, compile_repo, enforce_passes, print_passes


def main() -> None:
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
        state = compile_repo(root, args.rows, args.systems, args.now)
        print(
            f"repository: {args.systems} systems, {args.rows} rows → {len(state.groups)} "
            f"groups, {len(state.rules)} rules"
        )
        try:
            a = apply(args.cloud, state)
            print(f"apply: {a['seconds']:.1f} s, {a['requests']} requests")
            print_passes(enforce_passes(args.cloud, root, args.now, args.passes))
        finally:
            print(f"cleanup: {cleanup(args.cloud, state):.1f} s")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
