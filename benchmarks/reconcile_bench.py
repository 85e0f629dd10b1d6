"""plan/apply on the devcloud: API requests and wall time (issue 4, Speed). Run by hand:

    flock /tmp/cgcloud-devcloud.lock python benchmarks/reconcile_bench.py
    flock /tmp/cgcloud-devcloud.lock python benchmarks/reconcile_bench.py --systems 100 --rows 5000 \\
        --naive-systems 20

1. Generates a synthetic repository (benchmarks/generate.py) and compiles it at
   --now (inside the generated windows: the rows run 2026-12-01 …, high-risk rows
   for December 2026).
2. First apply with the engine as shipped (bulk creates, bounded concurrency).
3. A no-op plan (read + diff) right after it, and the request count a
   one-GET-per-resource refresh of the same state would make (one GET per
   project, per quota set (Nova, Cinder, Neutron), per flavor, per group, per rule,
   per bound port) — the baseline of the 1 % target.
3b. --enforce N (default 3): N no-op `cgcloud enforce` passes on that state, each a
   whole process (enforce_bench.py; issue 5).
4. Side by side on a smaller repository (--naive-systems): the same first apply
   with one create per request, sequentially (what a naive engine does), and
   with the engine as shipped.
Everything it created (projects named after the generated systems) is deleted at
the end. The devcloud is shared: always run under the flock.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchlib import (
    apply,
    cleanup,
    compile_repo,
    enforce_passes,
    noop_plan,
    print_passes,
    strip_fingerprints,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cloud", default="devcloud")
    ap.add_argument("--systems", type=int, default=100)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument(
        "--naive-systems",
        type=int,
        default=10,
        help="systems of the side-by-side comparison (0: skip)",
    )
    ap.add_argument("--now", default="2026-12-10T10:00+08:00")
    ap.add_argument(
        "--enforce",
        type=int,
        default=3,
        help="no-op `cgcloud enforce` passes on the applied state (enforce_bench.py)",
    )
    ap.add_argument(
        "--close-at",
        default="",
        help="then two enforce passes at this later time: the first closes the "
        "rules whose windows ended, the second must be a no-op",
    )
    ap.add_argument(
        "--unsettled",
        type=int,
        default=0,
        metavar="K",
        help="then remove K projects' rule fingerprints and run two passes: the "
        "first reads those projects and records them, the second skips them",
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="leave the applied state in the cloud (measure again with --reuse)",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="the state of an earlier --keep run is there: no first apply",
    )
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        state = compile_repo(Path(tmp) / "big", args.rows, args.systems, args.now)
        print(
            f"repository: {args.systems} systems, {args.rows} rows → {len(state.projects)} "
            f"projects, {len(state.groups)} groups, {len(state.rules)} rules, "
            f"{len(state.flavors)} flavors (validate+compile {time.monotonic() - t0:.1f} s)"
        )
        try:
            a = apply(args.cloud, state) if not args.reuse else None
            if a is not None:
                print(
                    f"first apply: {a['seconds']:.1f} s, {a['requests']} requests "
                    f"({a['changes']} changes: {a['groups']} groups, {a['rules']} rules; "
                    f"read {a['read_requests']} requests); phases: "
                    + ", ".join(f"{k} {v:.1f} s" for k, v in a["phases"].items())
                )
            for i in range(3):
                n = noop_plan(args.cloud, state)
                pct = 100.0 * n["requests"] / n["baseline"]
                print(
                    f"no-op plan #{i + 1}: {n['seconds']:.2f} s, {n['requests']} requests; "
                    f"has_changes={n['has_changes']} {n['summary']}; one-GET-per-resource baseline "
                    f"{n['baseline']} (= 4 × {n['projects']} projects + {n['flavors']} "
                    f"flavors + {n['groups']} groups + {n['rules']} rules + {n['ports']} "
                    f"ports) → {pct:.2f} %"
                )
            if args.enforce:
                print_passes(enforce_passes(args.cloud, Path(tmp) / "big", args.now, args.enforce))
            if args.unsettled:
                print(
                    f"removed {strip_fingerprints(args.cloud, args.unsettled)} rule "
                    "fingerprints; enforce:"
                )
                print_passes(enforce_passes(args.cloud, Path(tmp) / "big", args.now, 2))
            if args.close_at:
                print(f"enforce at {args.close_at}:")
                print_passes(enforce_passes(args.cloud, Path(tmp) / "big", args.close_at, 2))
        finally:
            if not args.keep:
                print(f"cleanup: {cleanup(args.cloud, state):.1f} s")
        if args.naive_systems:
            rows = args.rows * args.naive_systems // args.systems
            small = compile_repo(Path(tmp) / "small", rows, args.naive_systems, args.now)
            print(
                f"side by side: {args.naive_systems} systems, {rows} rows → "
                f"{len(small.groups)} groups, {len(small.rules)} rules"
            )
            for naive in (True, False):
                try:
                    r = apply(args.cloud, small, naive=naive)
                    label = "one create per request, sequential" if naive else "engine"
                    print(
                        f"  {label}: {r['seconds']:.1f} s, {r['requests']} requests; "
                        "phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"].items())
                    )
                finally:
                    cleanup(args.cloud, small)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
