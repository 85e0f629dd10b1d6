"""What the benchmarks share: build and compile a generated repository, apply it, a
no-op plan, enforce passes as a process, clean up. One module both `reconcile_bench.py`
and `enforce_bench.py` (and `read_profile.py`) import, so neither imports the other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cgcloud import clock, desired
from cgcloud import plan as planner
from cgcloud.engines.openstack import OpenStackEngine, fingerprints
from cgcloud.validate import validate

HERE = Path(__file__).resolve().parent


def compile_repo(root: Path, rows: int, systems: int, now: str) -> desired.DesiredState:
    subprocess.run(
        [
            sys.executable,
            str(HERE / "generate.py"),
            str(root),
            "--rows",
            str(rows),
            "--systems",
            str(systems),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    v = validate([root], clock.now_local(now))
    errors = [f for f in v.findings if f.severity == "error"]
    if errors:
        raise SystemExit(f"generated repository has {len(errors)} errors at {now}")
    return desired.compile(v.repo, clock.now_local(now), OpenStackEngine.quota_room)


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
    return {
        "seconds": time.monotonic() - t0,
        "requests": eng.requests - r0,
        "changes": len(res.steps),
        "read_requests": actual.requests,
        "rules": sum(1 for s in res.steps if s.change.kind == "rule"),
        "groups": sum(1 for s in res.steps if s.change.kind == "group"),
        "phases": phases,
    }


def strip_fingerprints(cloud: str, projects: int) -> int:
    """Remove the cgcloud:rules= tag of that many projects (as if their rules had changed,
    or as a cloud applied by an older cgcloud)."""
    eng = OpenStackEngine(cloud)
    n = 0
    for proj in eng.read_projects():
        for fp in proj.fingerprints[: max(0, projects - n)]:
            tag = quote(fingerprints.tag(fp), safe=":=")
            eng.call("identity", "DELETE", f"/projects/{proj.id}/tags/{tag}")
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
    groups = [
        g for g in actual.groups if planner.group_identity(g, owned) and g.project_id in projects
    ]
    gids = {g.id for g in groups}
    rules = [r for r in actual.rules if r.group_id in gids]
    ports = [p for p in actual.ports if gids & set(p.group_ids)]
    baseline = len(projects) * 4 + len(state.flavors) + len(groups) + len(rules) + len(ports)
    return {
        "seconds": secs,
        "requests": eng.requests,
        "has_changes": plan.has_changes,
        "summary": plan.summary,
        "baseline": baseline,
        "projects": len(projects),
        "groups": len(groups),
        "rules": len(rules),
        "ports": len(ports),
        "flavors": len(state.flavors),
    }


def cleanup(cloud: str, state: desired.DesiredState) -> float:
    """Delete the benchmark's groups and projects (flavors are shared: kept)."""
    eng = OpenStackEngine(cloud, concurrency=4)
    t0 = time.monotonic()
    names = {p.name for p in state.projects}
    projects = [
        x
        for x in eng.call("identity", "GET", "/projects")["projects"]
        if x["name"] in names and desired.MANAGED_TAG in (x.get("tags") or [])
    ]
    pids = {x["id"] for x in projects}
    groups = [
        g["id"]
        for g in eng._pages("security-groups", {"fields": ["id", "project_id"]})
        if g["project_id"] in pids
    ]
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda gid: eng.call("network", "DELETE", f"/security-groups/{gid}", ok=(404,)),
                groups,
            )
        )
    for pid in pids:  # Keystone on SQLite: one write at a time
        eng.call("identity", "DELETE", f"/projects/{pid}", ok=(404,))
    return time.monotonic() - t0


def enforce_passes(cloud: str, root: Path, now: str, passes: int) -> list[dict[str, Any]]:
    """Run `cgcloud enforce` `passes` times as a subprocess; one dict per pass."""
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        cmd = [
            sys.executable,
            "-m",
            "cgcloud",
            "enforce",
            str(root),
            "--cloud",
            cloud,
            "--now",
            now,
            "--format",
            "json",
            "--records",
            f"{scratch}/records",
            "--audit-log",
            f"{scratch}/audit.jsonl",
        ]
        for _ in range(passes):
            t0 = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.monotonic() - t0
            if proc.returncode != 0:
                raise SystemExit(f"enforce exited {proc.returncode}: {proc.stderr[-2000:]}")
            doc = json.loads(proc.stdout)
            audit = Path(scratch, "audit.jsonl")
            out.append(
                {
                    "wall": wall,
                    "seconds": doc["seconds"],
                    "requests": doc["requests"],
                    "actions": Counter(f"{a['verb']}/{a['status']}" for a in doc["actions"]),
                    "audit_lines": len(audit.read_text().splitlines()) if audit.exists() else 0,
                }
            )
    return out


def print_passes(results: list[dict[str, Any]]) -> None:
    for i, r in enumerate(results, 1):
        acts = ", ".join(f"{k} {v}" for k, v in sorted(r["actions"].items())) or "none"
        print(
            f"enforce pass #{i}: {r['wall']:.2f} s wall (process), {r['seconds']:.2f} s in the "
            f"pass, {r['requests']} API requests; actions: {acts}; audit lines {r['audit_lines']}"
        )
