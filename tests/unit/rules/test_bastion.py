"""CG310: SSH/RDP to an internal host only from a bastion (第十九条)."""

from __future__ import annotations

import pytest

from cgcloud.findings import Severity


def row(frm: str, source: str, to: str, target: str, port: str) -> str:
    return f"{{from: {frm}, source: {source}, to: {to}, target: {target}, port: {port}}}"


@pytest.mark.parametrize(
    "r",
    [
        row("互联网区", "172.20.0.10", "互联网区", "172.20.4.11-12", "TCP22"),
        row("政务外网区", "172.21.0.10", "政务外网区", "智慧城管-数据库", "TCP 3389"),
        # a bastion may reach any internal zone the flows matrix allows from its zone
        row("互联网区", "172.20.0.10", "政务外网区", "172.21.4.21", "TCP22"),
        row("政务外网区", "172.21.0.10", "互联网区", "172.20.4.11", "/"),
        # other ports are not this rule's business
        row("政务外网区", "172.21.3.0/24", "政务外网区", "172.21.4.21", "TCP2222"),
        row("政务外网区", "172.21.3.0/24", "政务外网区", "172.21.4.21", "UDP22"),
        # SSH to an external zone is not 第十九条's concern
        row("政务外网区", "172.21.3.5", "政务外网骨干网", "10.1.1.1", "TCP22"),
    ],
    ids=[
        "ssh-own-zone",
        "rdp-placeholder-target",
        "ssh-cross-zone",
        "any-port-from-bastion",
        "tcp2222",
        "udp22",
        "to-external",
    ],
)
def test_bastion_sources_pass(policy_repo, r):
    policy_repo.policy([r])
    assert [f for f in policy_repo.validate() if f.rule == "CG310"] == []


@pytest.mark.parametrize(
    ("r", "words"),
    [
        (row("互联网区", "172.20.4.50", "互联网区", "172.20.4.11", "TCP22"), "172.20.4.50"),
        (row("政务外网区", "172.21.0.10-11", "政务外网区", "172.21.4.21", "TCP22"), "172.21.0.11"),
        (
            row("政务外网区", "172.21.0.0/24", "政务外网区", "172.21.4.21", "TCP3389"),
            "172.21.0.0-172.21.0.255",
        ),
        (row("政务外网区", "智慧城管-跳板机", "政务外网区", "172.21.4.21", "TCP22"), "占位名"),
        (row("互联网公网", "0.0.0.0", "互联网区", "172.20.4.11", "TCP3389"), "0.0.0.0"),
        (row("互联网公网", "58.1.1.1", "互联网区", "172.20.4.11", "/"), "58.1.1.1"),
        (
            row("政务外网区", "172.21.4.5", "政务外网区", "172.21.4.21", '"TCP21-23,80"'),
            "TCP22 (SSH)",
        ),
        # the gov bastion address written as the source of an internet-zone row is not
        # that zone's bastion (and CG104 reports the address outside the pool)
        (row("互联网区", "172.21.0.10", "互联网区", "172.20.4.11", "TCP22"), "政务外网区 的堡垒机"),
    ],
    ids=[
        "host",
        "range-half-bastion",
        "cidr",
        "placeholder",
        "any",
        "any-port",
        "port-range",
        "other-zones-bastion",
    ],
)
def test_non_bastion_sources_fail(policy_repo, r, words):
    good = row("互联网区", "172.20.0.10", "互联网区", "172.20.4.11-12", "TCP22")
    policy_repo.policy([good, r])
    found = [f for f in policy_repo.validate() if f.rule == "CG310"]
    assert len(found) == 1
    f = found[0]
    assert f.severity is Severity.ERROR
    assert f.line == policy_repo.line("network.yaml", r[:40], nth=1 if r[:40] != good[:40] else 2)
    assert "第2行" in f.message and words in f.message
    assert "172.20.0.10" in f.hint  # the hint names a usable bastion
