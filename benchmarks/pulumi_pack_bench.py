"""What the CrossGuard pack costs per rule, and what batching would save.

    python benchmarks/pulumi_pack_bench.py [--rules 200]

CrossGuard calls each resource policy once per resource. The pack has nine row
policies (one per cgcloud rule it brings, cgcloud/engines/pulumi/policy.py), each of
which judges the rule's row with a scratch validation. Three ways are timed over the
same synthetic `SecGroupRule` inputs (distinct ports and sources):

- ``per-policy``: every row policy validates the row itself (the pack before the memo);
- ``memo`` (shipped): the nine policies share one validation per rule (`policy.one_row`);
- ``batched``: one validation of all rules at once — what a StackValidationPolicy could
  do, since only it sees every resource together.

Prints a markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cgcloud.engines.pulumi import policy  # noqa: E402

ROW_POLICIES = len(policy.ROW_RULES)


def rule(i: int) -> policy.RuleArgs:
    return policy.RuleArgs.from_props(
        {
            "direction": "ingress",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "portRangeMin": 8000 + i % 1000,
            "portRangeMax": 8000 + i % 1000,
            "remoteIpPrefix": f"10.{i // 250 % 250}.{i % 250}.0/24",
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=200)
    n = ap.parse_args().rules
    config = policy.Config(policies=str(HERE.parent / "policies"), now="2027-01-15T10:00")
    rules = [rule(i) for i in range(n)]
    policy.row_verdicts(rules[:1], config)  # the site's files read once, as in a preview
    minute = config.when()

    t = time.monotonic()
    for a in rules:
        for _ in range(ROW_POLICIES):
            policy.row_verdicts([a], config)
    per_policy = time.monotonic() - t

    policy.one_row.cache_clear()
    t = time.monotonic()
    for a in rules:
        for _ in range(ROW_POLICIES):
            policy.one_row(a, config, minute)
    memo = time.monotonic() - t

    t = time.monotonic()
    policy.row_verdicts(rules, config)
    batched = time.monotonic() - t

    print(f"| model | {n} rules (s) | per rule (ms) | 12,513 rules, extrapolated (s) |")
    print("|---|---:|---:|---:|")
    for name, secs in (("per-policy", per_policy), ("memo (shipped)", memo), ("batched", batched)):
        print(f"| {name} | {secs:.2f} | {1000 * secs / n:.1f} | {12513 * secs / n:.0f} |")


if __name__ == "__main__":
    main()
