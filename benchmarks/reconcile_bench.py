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
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cgcloud import clock, desired
from cgcloud import plan as planner
from cgcloud.engines.openstack import OpenStackEngine
from cgcloud.validate import validate

HERE = Path(__file__).resolve().parent


def compile_repo(root: Path, rows: int, systems: int, now: str) -> desired.DesiredState:
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(root), "--rows", str(rows),
                    "--systems", str(systems)], check=True, stdout=subprocess.DEVNULL)
    v = validate([root], clock.now_local(now))
    errors = [f for f in v.findings if f.severity == "error"]
    if errors:
        raise SystemExit(f"generated repository has {len(errors)} errors at {now}")
    return desired.compile(v.repo, clock.now_local(now))


def apply(cloud: str, state: desired.DesiredState, *, naive: bool = False) -> dict[str, Any]:
    eng = OpenStackEngine(cloud, concurrency=1 if naive else 4)
    if naive:
        eng.bulk_size = 1
    t0, r0 = time.monotonic(), eng.requests
    actual = eng.read(state)
    plan = planner.diff(state, actual, cloud=cloud)
    phases: dict[str, float] = {}
    last = [time.monotonic()]

    def progress(phase: str, done: int, total: int) -> None:
        if done == total:
            now = time.monotonic()
            phases[phase] = phases.get(phase, 0.0) + now - last[0]
            last[0] = now

    last[0] = time.monotonic()
    res = eng.apply(state, plan, actual, progress=progress)
    if not res.ok:
        raise SystemExit(f"apply failed: {[s.error for s in res.failed][:3]}")
    eng.record_fingerprints(plan.fingerprints, res)  # as `cgcloud apply` does
    phases["fingerprints"] = time.monotonic() - last[0]
    return {"seconds": time.monotonic() - t0, "requests": eng.requests - r0,
            "changes": len(res.steps), "read_requests": actual.requests,
            "rules": sum(1 for s in res.steps if s.change.kind == "rule"),
            "groups": sum(1 for s in res.steps if s.change.kind == "group"),
            "phases": phases}


def strip_fingerprints(cloud: str, projects: int) -> int:
    """Remove the cgcloud:rules= tag of that many projects (as if their rules had changed,
    or as a cloud applied by an older cgcloud)."""
    eng = OpenStackEngine(cloud)
    n = 0
    for proj in eng.read_projects():
        for tag in planner.recorded_fingerprint(proj.tags)[:max(0, projects - n)]:
            eng.call("identity", "DELETE", f"/projects/{proj.id}/tags/{quote(tag, safe=':=')}")
            n += 1
    return n


def noop_plan(cloud: str, state: desired.DesiredState) -> dict[str, Any]:
    eng = OpenStackEngine(cloud)
    t0 = time.monotonic()
    actual = eng.read(state)
    plan = planner.diff(state, actual, cloud=cloud)
    secs = time.monotonic() - t0
    owned = planner.managed_projects_by_id(actual.projects)
    systems = {p.system for p in state.projects}
    projects = [pid for pid, s in owned.items() if s in systems]
    groups = [g for g in actual.groups
              if planner.group_identity(g, owned) and g.project_id in projects]
    gids = {g.id for g in groups}
    rules = [r for r in actual.rules if r.group_id in gids]
    ports = [p for p in actual.ports if gids & set(p.group_ids)]
    baseline = (len(projects) * 4 + len(state.flavors) + len(groups) + len(rules) + len(ports))
    return {"seconds": secs, "requests": eng.requests, "has_changes": plan.has_changes,
            "summary": plan.summary, "baseline": baseline, "projects": len(projects),
            "groups": len(groups), "rules": len(rules), "ports": len(ports),
            "flavors": len(state.flavors)}


def cleanup(cloud: str, state: desired.DesiredState) -> float:
    """Delete the benchmark's groups and projects (flavors are shared: kept)."""
    eng = OpenStackEngine(cloud, concurrency=4)
    t0 = time.monotonic()
    names = {p.name for p in state.projects}
    projects = [x for x in eng.call("identity", "GET", "/projects")["projects"]
                if x["name"] in names and desired.MANAGED_TAG in (x.get("tags") or [])]
    pids = {x["id"] for x in projects}
    groups = [g["id"] for g in eng._pages("security-groups", {"fields": ["id", "project_id"]})
              if g["project_id"] in pids]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda gid: eng.call("network", "DELETE", f"/security-groups/{gid}",
                                           ok=(404,)), groups))
    for pid in pids:  # Keystone on SQLite: one write at a time
        eng.call("identity", "DELETE", f"/projects/{pid}", ok=(404,))
    return time.monotonic() - t0


def main() -> None:
    sys.path.insert(0, str(HERE))
    import enforce_bench

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cloud", default="devcloud")
    ap.add_argument("--systems", type=int, default=100)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--naive-systems", type=int, default=10,
                    help="systems of the side-by-side comparison (0: skip)")
    ap.add_argument("--now", default="2026-12-10T10:00+08:00")
    ap.add_argument("--enforce", type=int, default=3,
                    help="no-op `cgcloud enforce` passes on the applied state (enforce_bench.py)")
    ap.add_argument("--close-at", default="",
                    help="then two enforce passes at this later time: the first closes the "
                         "rules whose windows ended, the second must be a no-op")
    ap.add_argument("--unsettled", type=int, default=0, metavar="K",
                    help="then remove K projects' rule fingerprints and run two passes: the "
                         "first reads those projects and records them, the second skips them")
    ap.add_argument("--keep", action="store_true",
                    help="leave the applied state in the cloud (measure again with --reuse)")
    ap.add_argument("--reuse", action="store_true",
                    help="the state of an earlier --keep run is there: no first apply")
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        state = compile_repo(Path(tmp) / "big", args.rows, args.systems, args.now)
        print(f"repository: {args.systems} systems, {args.rows} rows → {len(state.projects)} "
              f"projects, {len(state.groups)} groups, {len(state.rules)} rules, "
              f"{len(state.flavors)} flavors (validate+compile {time.monotonic() - t0:.1f} s)")
        try:
            a = apply(args.cloud, state) if not args.reuse else None
            if a is not None:
                print(f"first apply: {a['seconds']:.1f} s, {a['requests']} requests "
                      f"({a['changes']} changes: {a['groups']} groups, {a['rules']} rules; "
                      f"read {a['read_requests']} requests); phases: "
                      + ", ".join(f"{k} {v:.1f} s" for k, v in a["phases"].items()))
            for i in range(3):
                n = noop_plan(args.cloud, state)
                pct = 100.0 * n["requests"] / n["baseline"]
                print(f"no-op plan #{i + 1}: {n['seconds']:.2f} s, {n['requests']} requests; "
                      f"has_changes={n['has_changes']} {n['summary']}; one-GET-per-resource baseline "
                      f"{n['baseline']} (= 4 × {n['projects']} projects + {n['flavors']} "
                      f"flavors + {n['groups']} groups + {n['rules']} rules + {n['ports']} "
                      f"ports) → {pct:.2f} %")
            if args.enforce:
                enforce_bench.print_passes(enforce_bench.enforce_passes(
                    args.cloud, Path(tmp) / "big", args.now, args.enforce))
            if args.unsettled:
                print(f"removed {strip_fingerprints(args.cloud, args.unsettled)} rule "
                      "fingerprints; enforce:")
                enforce_bench.print_passes(enforce_bench.enforce_passes(
                    args.cloud, Path(tmp) / "big", args.now, 2))
            if args.close_at:
                print(f"enforce at {args.close_at}:")
                enforce_bench.print_passes(enforce_bench.enforce_passes(
                    args.cloud, Path(tmp) / "big", args.close_at, 2))
        finally:
            if not args.keep:
                print(f"cleanup: {cleanup(args.cloud, state):.1f} s")
        if args.naive_systems:
            rows = args.rows * args.naive_systems // args.systems
            small = compile_repo(Path(tmp) / "small", rows, args.naive_systems, args.now)
            print(f"side by side: {args.naive_systems} systems, {rows} rows → "
                  f"{len(small.groups)} groups, {len(small.rules)} rules")
            for naive in (True, False):
                try:
                    r = apply(args.cloud, small, naive=naive)
                    label = "one create per request, sequential" if naive else "engine"
                    print(f"  {label}: {r['seconds']:.1f} s, {r['requests']} requests; "
                          "phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"].items()))
                finally:
                    cleanup(args.cloud, small)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
