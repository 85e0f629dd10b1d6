"""Where a no-op read's time goes: wall time per kind of request (issue 4/5 analysis). Run by hand:

    flock /tmp/cgcloud-devcloud.lock python benchmarks/read_profile.py --systems 20 --rows 1000

Applies a generated repository with the engine (as reconcile_bench.py), then reads the
state --reads times with every HTTP request timed and filed by kind (Neutron list page
of groups/rules/ports, Nova/Cinder quota GET, …), prints the sums, and deletes what it
created. The read is sequential except the Nova/Cinder quota GETs (4 at a time), so the
phase sums show what a faster read would have to remove.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from cgcloud import plan as planner
from cgcloud.engines.openstack import OpenStackEngine

HERE = Path(__file__).resolve().parent

KINDS = [
    (r"/security-group-rules", "neutron: list rules (page)"),
    (r"/security-groups", "neutron: list groups (page)"),
    (r"/ports", "neutron: list ports (page)"),
    (r"/quotas", "neutron: quotas"),
    (r"/os-quota-sets/", "nova + cinder: quota GET"),
    (r"/projects", "keystone: projects"),
    (r"", "other"),
]


def kind(method: str, url: str) -> str:
    for pat, name in KINDS:
        if re.search(pat, url):
            return name
    return "other"


def timed_read(cloud: str, state) -> None:  # type: ignore[no-untyped-def]
    eng = OpenStackEngine(cloud)
    stats: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    session = eng.conn.session
    original = session.request

    def timed(*a, **kw):  # type: ignore[no-untyped-def]
        url = str(a[0] if a else kw.get("url", ""))
        method = str(a[1] if len(a) > 1 else kw.get("method", ""))
        t0 = time.monotonic()
        try:
            return original(*a, **kw)
        finally:
            with lock:
                stats[kind(method, url)].append(time.monotonic() - t0)

    session.request = timed
    t0, r0 = time.monotonic(), eng.requests
    actual = eng.read(state)
    t1 = time.monotonic()
    plan = planner.diff(state, actual, cloud=cloud)
    t2 = time.monotonic()
    print(
        f"read {t1 - t0:.2f} s ({eng.requests - r0} requests), diff {t2 - t1:.2f} s, "
        f"has_changes={plan.has_changes}; {len(actual.groups)} groups, {len(actual.rules)} rules"
    )
    for k, v in sorted(stats.items(), key=lambda kv: -sum(kv[1])):
        print(
            f"  {k:32} {len(v):4} requests, sum {sum(v):6.2f} s, median {sorted(v)[len(v) // 2] * 1000:6.0f} ms, "
            f"max {max(v) * 1000:6.0f} ms"
        )


def main() -> None:
    import benchlib as rb  # the script's directory is on sys.path

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cloud", default="devcloud")
    ap.add_argument("--systems", type=int, default=20)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--reads", type=int, default=2)
    ap.add_argument("--now", default="2026-12-10T10:00+08:00")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = rb.compile_repo(Path(tmp) / "repo", args.rows, args.systems, args.now)
        try:
            a = rb.apply(args.cloud, state)
            print(f"apply: {a['seconds']:.1f} s, {a['requests']} requests")
            for _ in range(args.reads):
                timed_read(args.cloud, state)
        finally:
            print(f"cleanup: {rb.cleanup(args.cloud, state):.1f} s")


if __name__ == "__main__":
    main()
