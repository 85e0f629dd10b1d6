"""Program time and resource count of the Pulumi program under Pulumi's mocks.

    python benchmarks/pulumi_bench.py [--rows 5000] [--systems 100] [--repeat 3]

Writes a synthetic repository with ``generate.py`` (under ``benchmarks/out/``),
compiles it at the generator's ``NOW`` and runs `program.declare` under
``pulumi.runtime.set_mocks`` — the registration path of a real `pulumi preview`,
without the engine (no Pulumi CLI can be had here; docs/pulumi.md). Every
placeholder is resolved to one address and every group bound to one port, so the
count is what a fully resolved cloud declares. Two models are timed:

- ``per-rule`` (what `program.declare` does): one `SecGroupRule` per Neutron rule;
- ``per-group`` (measured for the decision only, not shipped): one resource per
  security group carrying its rules as a list input, as a dynamic provider using
  Neutron's per-group bulk create would.

Prints a markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import pulumi  # noqa: E402
from generate import NOW, generate  # noqa: E402

from cgcloud import clock, desired  # noqa: E402
from cgcloud.engines.openstack import neutron  # noqa: E402
from cgcloud.engines.pulumi.program import Resolution, declare  # noqa: E402
from cgcloud.validate import load_repository  # noqa: E402


class Counter(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.count = 0

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.count += 1
        return f"{args.name}-id", {}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


def resolution(state: desired.DesiredState) -> Resolution:
    ips = {
        (r.system, r.remote_placeholder): ["10.254.0.1"]
        for r in state.rules
        if r.remote_placeholder
    }
    return Resolution(
        placeholder_ips=ips, bindings={f"port-{g.key}": [g.key] for g in state.groups}
    )


def per_group(state: desired.DesiredState) -> list[pulumi.CustomResource]:
    """The alternative model: one resource per group holding its rules (timing only)."""
    by_group: dict[str, list[dict[str, Any]]] = {}
    for r in state.rules:
        by_group.setdefault(r.group, []).append(r.to_dict())
    out: list[pulumi.CustomResource] = []
    for g in state.groups:
        out.append(
            pulumi.CustomResource(
                "cgcloud:bench:Group",
                f"group-{g.key}",
                {"name": g.name, "description": g.description},
            )
        )
        out.append(
            pulumi.CustomResource(
                "cgcloud:bench:GroupRules", f"rules-{g.key}", {"rules": by_group.get(g.key, [])}
            )
        )
    return out


def timed(body: Any) -> tuple[float, int]:
    counter = Counter()
    pulumi.runtime.set_mocks(counter, project="cgcloud", stack="bench", preview=True)
    start = time.perf_counter()

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        resources = body()
        return pulumi.Output.all(*[r.urn for r in resources])

    program()
    return time.perf_counter() - start, counter.count


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--systems", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    out = HERE / "out" / f"pulumi-{a.rows}-{a.systems}"
    if not out.exists():
        generate(out, a.rows, a.systems, 1)
    repo, _, _ = load_repository([out])
    state = desired.compile(repo, clock.now_local(NOW), neutron.QUOTA_ROOM)
    res = resolution(state)
    print(
        f"{a.systems} systems, {a.rows} rows: {len(state.groups)} groups, "
        f"{len(state.rules)} rules in the desired state\n"
    )
    print("| model | resources | program median (s) | best (s) |\n|---|---:|---:|---:|")
    for name, body in (
        ("per-rule", lambda: list(declare(state, res).resources.values())),
        ("per-group", lambda: per_group(state)),
    ):
        runs = [timed(body) for _ in range(a.repeat)]
        walls = [w for w, _ in runs]
        print(f"| {name} | {runs[0][1]:,} | {statistics.median(walls):.1f} | {min(walls):.1f} |")


if __name__ == "__main__":
    main()
