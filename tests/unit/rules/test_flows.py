"""CG102 (flow not allowed) and CG103 (between two external zones)."""

from __future__ import annotations

import pytest

from cgcloud.findings import Severity

ALLOWED = [
    "{from: 政务外网区, source: 172.21.0.111, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
    "{from: 互联网区, source: 172.20.4.111, to: 互联网公网, target: 0.0.0.0, port: TCP443}",
    "{from: 专线网络, source: 192.168.100.5, to: 政务外网区, target: 172.21.0.111, port: TCP9999}",
    # same zone inside an internal zone is always allowed, even without a flows entry
    "{from: 互联网区, source: 172.20.4.111, to: internet, target: 172.20.4.112, port: TCP8080}",
]


def test_allowed_flows_pass(policy_repo):
    policy_repo.policy(ALLOWED)
    found = policy_repo.validate()
    assert [f for f in found if f.rule in ("CG102", "CG103")] == []


@pytest.mark.parametrize(
    "row",
    [
        "{from: 政务外网区, source: 172.21.0.111, to: 互联网公网, target: 58.1.1.1, port: TCP443}",
        "{from: 互联网公网, source: 58.1.1.1, to: 政务外网区, target: 172.21.0.111, port: TCP443}",
        "{from: 政务外网骨干网, source: 10.1.1.1, to: 互联网区, target: 172.20.4.111, port: TCP443}",
    ],
    ids=["gov-to-public", "public-to-gov", "backbone-to-internet"],
)
def test_not_allowed_flow_fails(policy_repo, row):
    policy_repo.policy([*ALLOWED, row])
    found = policy_repo.validate()
    mine = [f for f in found if f.rule == "CG102"]
    assert len(mine) == 1
    f = mine[0]
    assert f.severity is Severity.ERROR
    assert f.line == policy_repo.line("network.yaml", row[:60])
    assert "第5行" in f.message and "不是允许的方向" in f.message
    assert "CG103" not in {x.rule for x in found}


def test_external_to_external_fails_with_own_id_only(policy_repo):
    row = "{from: 互联网公网, source: 58.1.1.1, to: 政务外网骨干网, target: 10.1.1.1, port: TCP443}"
    policy_repo.policy([*ALLOWED, row])
    found = policy_repo.validate()
    mine = [f for f in found if f.rule == "CG103"]
    assert len(mine) == 1
    f = mine[0]
    assert f.severity is Severity.ERROR
    assert f.line == policy_repo.line("network.yaml", "to: 政务外网骨干网")
    assert "两个外部区域" in f.message
    assert "CG102" not in {x.rule for x in found}  # one of them, not both


def test_external_flow_listed_in_zones_still_fails(policy_repo):
    """Even a Zones file that lists [public, leased] cannot make it legal (CG100 too)."""
    zones = (policy_repo.root / "zones.yaml").read_text("utf-8")
    zones = zones.replace("flows:", "flows:\n  - [public, leased]", 1)
    policy_repo.write("zones.yaml", zones)
    row = "{from: 互联网公网, source: 58.1.1.1, to: 专线网络, target: 192.168.100.1, port: TCP443}"
    policy_repo.policy([row])
    rules = {f.rule for f in policy_repo.validate()}
    assert "CG103" in rules and "CG100" in rules and "CG102" not in rules
