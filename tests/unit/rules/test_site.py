"""CG100: the Zones file must agree with itself."""

from __future__ import annotations

import pytest

from cgcloud.findings import Severity

ZONES = """\
apiVersion: cgcloud/v1
kind: Zones
zones:
  - {id: gov, name: 政务外网区, internal: true, cidrs: [172.21.0.0/16]}
  - {id: internet, name: 互联网区, internal: true, cidrs: [172.20.0.0/16]}
  - {id: gov-backbone, name: 政务外网骨干网, internal: false, cidrs: [10.0.0.0/8]}
  - {id: public, name: 互联网公网, internal: false}
  - {id: leased, name: 专线网络, internal: false, cidrs: [192.168.100.0/22]}
flows:
  - [gov, internet]
  - [internet, gov]
  - [internet, public]
  - [public, internet]
  - [gov, gov-backbone]
  - [gov-backbone, gov]
  - [leased, gov]
  - [gov, leased]
  - [leased, internet]
  - [internet, leased]
default_egress:
  - [internet, public]
  - [gov, gov-backbone]
bastions:
  - {zone: internet, address: 172.20.0.10}
  - {zone: gov, address: 172.21.0.10}
"""


def test_consistent_zones_pass(policy_repo):
    policy_repo.write("zones.yaml", ZONES)
    assert policy_repo.findings("CG100") == []


def test_zone_refs_by_chinese_name_pass(policy_repo):
    """flows/default_egress/bastions may name zones by Chinese name as well as by id."""
    text = ZONES.replace("[gov, internet]", "[政务外网区, 互联网区]").replace(
        "{zone: gov,", "{zone: 政务外网区,"
    )
    policy_repo.write("zones.yaml", text)
    policy_repo.policy(
        ["{from: gov, source: 172.21.0.111, to: internet, target: 172.20.4.111, port: TCP9999}"]
    )
    found = policy_repo.validate()
    assert [f.rule for f in found if f.rule in ("CG100", "CG102")] == []


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        ("[leased, internet]", "[leased, intranet]", "[leased, intranet]", "intranet"),
        (
            "  - [gov, gov-backbone]\nbastions",
            "  - [gov, backbone]\nbastions",
            "[gov, backbone]",
            "backbone",
        ),
        ("{zone: gov, address", "{zone: dmz, address", "zone: dmz", "dmz"),
        ("{id: leased, name: 专线网络", "{id: gov, name: 专线网络", "name: 专线网络", "重复"),
        ("name: 专线网络", "name: 互联网区", "name: 互联网区, internal: false", "重复"),
        ("[192.168.100.0/22]", "[172.20.128.0/22]", "172.20.128.0/22", "重叠"),
        ("address: 172.21.0.10", "address: 172.22.0.10", "172.22.0.10", "地址池"),
        (
            "{zone: internet, address: 172.20.0.10}",
            "{zone: public, address: 58.1.1.1}",
            "58.1.1.1",
            "外部区域",
        ),
        (
            "  - [internet, leased]\n",
            "  - [internet, leased]\n  - [public, leased]\n",
            "[public, leased]",
            "两个外部区域",
        ),
        (
            "  - [gov, gov-backbone]\nbastions",
            "  - [gov, public]\nbastions",
            "[gov, public]",
            "不在 flows",
        ),
    ],
    ids=[
        "flow-unknown-zone",
        "egress-unknown-zone",
        "bastion-unknown-zone",
        "duplicate-id",
        "duplicate-name",
        "overlapping-pools",
        "bastion-outside-pool",
        "bastion-in-external-zone",
        "external-to-external-flow",
        "egress-not-a-flow",
    ],
)
def test_inconsistent_zones_fail(policy_repo, old, new, needle, words):
    assert old in ZONES
    policy_repo.write("zones.yaml", ZONES.replace(old, new, 1))
    found = policy_repo.findings("CG100")
    assert len(found) >= 1, found
    f = found[0]
    assert f.severity is Severity.ERROR
    assert f.file.endswith("zones.yaml")
    assert f.line == policy_repo.line("zones.yaml", needle)
    assert words in f.message


def test_internal_zone_without_cidrs_fails(policy_repo):
    """The schema already demands cidrs of an internal zone; the rule backs it up for
    models built in code (and reports the zone if the schema is ever relaxed)."""
    from cgcloud import clock, model
    from cgcloud.rules import Context
    from cgcloud.rules.site import SITE
    from cgcloud.validate import load_repository

    policy_repo.write("zones.yaml", ZONES)
    repo, _, _ = load_repository([policy_repo.root])
    assert repo.zones is not None
    gov = repo.zones.zones[0]
    repo.zones.zones[0] = model.Zone(gov.id, gov.name, True, [], (), gov.at)
    found = [f for f in SITE.check(Context(repo, clock.now_local("2026-11-25")))]  # type: ignore[misc]
    assert any("没有地址池" in f.message for f in found)
    assert [f.line for f in found if "没有地址池" in f.message] == [
        policy_repo.line("zones.yaml", "{id: gov,")
    ]
