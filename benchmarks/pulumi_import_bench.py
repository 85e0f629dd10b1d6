"""What `cgcloud pulumi import-file` costs past the cloud read: the program under mocks and
the matching, on a cloud the in-memory engine made from a synthetic repository.

    python benchmarks/pulumi_import_bench.py [--rows 500] [--systems 10]

Writes the repository with ``generate.py`` (under ``benchmarks/out/``), applies it with
the memory engine (the reference engine; one host port per group, so bindings exist),
reads it back and times `importfile.declared` (the program under Pulumi's mocks) and
`importfile.held` plus the name match separately. The cloud read itself is the OpenStack
engine's (`## read` figures). Prints a markdown row for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from generate import NOW, generate  # noqa: E402

from cgcloud import clock, desired  # noqa: E402
from cgcloud import plan as planner  # noqa: E402
from cgcloud.engines.memory import MemoryEngine  # noqa: E402
from cgcloud.engines.pulumi import importfile  # noqa: E402
from cgcloud.validate import load_repository  # noqa: E402


def _host_ports(engine: MemoryEngine, state: desired.DesiredState) -> None:
    """One port at the first address of each group's hosts, in the system's project."""
    pid = {p.name: p.id for p in engine.state.projects.values()}
    for g in state.groups:
        for cidr in g.hosts.cidrs[:1]:
            ip = str(next(iter(ipaddress.ip_network(cidr, strict=False))))
            engine.add_port(pid[g.system], [ip])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--systems", type=int, default=10)
    a = ap.parse_args()
    out = HERE / "out" / f"pulumi-{a.rows}-{a.systems}"
    if not out.exists():
        generate(out, a.rows, a.systems, 1)
    engine = MemoryEngine("bench")
    repo, _, _ = load_repository([out])
    state = desired.compile(repo, clock.now_local(NOW), engine.quota_room)
    for _ in range(2):  # the second apply binds the ports added after the first
        actual = engine.read(state)
        engine.apply(state, planner.diff(state, actual, cloud="bench"), actual)
        if not engine.state.ports:
            _host_ports(engine, state)
    actual = engine.read(state)
    t0 = time.perf_counter()
    decl, _ = importfile.declared(state, actual)
    t1 = time.perf_counter()
    result = importfile.build(state, actual, "RegionOne")
    t2 = time.perf_counter()
    print(
        "| systems / rows | declared | in the file | absent | program under mocks (s) "
        "| build incl. a second program run (s) |\n|---|---:|---:|---:|---:|---:|"
    )
    print(
        f"| {a.systems} / {a.rows} | {len(decl):,} | {len(result.resources):,} "
        f"| {len(result.absent):,} | {t1 - t0:.1f} | {t2 - t1:.1f} |"
    )


if __name__ == "__main__":
    main()
