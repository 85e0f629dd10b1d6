"""The contract's own examples (docs: /work/shared/spec/policy-format.md, copied verbatim
into tests/fixtures/spec-examples/), validated together, give exactly these findings.

Each is a real consequence of the rules, not noise: the spec's Roster names only 钱七
and 孙八, so the other signers are not on it (CG402); its ShutdownNotice names a
system with no ResourceApplication among the examples (CG601) and is signed in
March 2027, after this test's `now` (CG401); its ProjectApplication's bastion account
names no login or key, so the bastion gets nothing from cgcloud (CG315, info). Everything else — the NetworkPolicy
with its high-risk row, the exposure count, the plan sums — passes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from cgcloud import clock
from cgcloud.validate import validate

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "spec-examples"


def test_spec_examples_validate_as_the_rules_say() -> None:
    v = validate([EXAMPLES], clock.now_local("2026-11-30T10:00"))
    found = Counter((f.rule, Path(f.file).name) for f in v.findings)
    assert found == Counter(
        {
            ("CG402", "network-policy.yaml"): 2,  # business_leader 王五, cloud_resource_leader 吴十
            ("CG402", "resource-application.yaml"): 2,  # department 赵六, initial 王五
            ("CG601", "shutdown-notice.yaml"): 1,
            ("CG401", "shutdown-notice.yaml"): 3,
            # its bastion account has no login/ssh_key: cgcloud opens nothing (info)
            ("CG315", "project-application.yaml"): 1,
        }
    )


def test_spec_network_policy_alone_is_clean() -> None:
    """With only the site files and the two forms it depends on, the spec's
    NetworkPolicy example has no finding at all."""
    files = [
        EXAMPLES / n
        for n in (
            "zones.yaml",
            "network-policy.yaml",
            "resource-application.yaml",
            "annual-plan.yaml",
        )
    ]
    v = validate(files, clock.now_local("2026-11-30T10:00"))
    assert [(f.rule, f.message) for f in v.findings] == []
