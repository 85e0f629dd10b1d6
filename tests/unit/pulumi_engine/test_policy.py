"""The CrossGuard pack gives the verdicts `cgcloud validate` gives the same rows."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pulumi_policy", reason="the pulumi extra is not installed")

from cgcloud import clock, desired  # noqa: E402
from cgcloud.engines.pulumi import policy as pack  # noqa: E402
from cgcloud.validate import load_repository, validate  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
SYSTEM = "智慧城管综合平台"
NOW = "2027-01-15T10:00"

# rows added to a copy of the example form: (to-zone id, row cells, the equivalent rule)
BAD_ROWS = [
    (
        "gov",
        "{from: 互联网公网, source: 0.0.0.0, to: 政务外网区, target: 172.21.4.21, port: TCP22}",
        pack.RuleArgs("ingress", "tcp", 22, 22, "0.0.0.0/0"),
    ),
    (
        "gov",
        "{from: 政务外网区, source: 172.21.0.0/16, to: 政务外网区, target: 172.21.4.21, "
        "port: TCP3306}",
        pack.RuleArgs("ingress", "tcp", 3306, 3306, "172.21.0.0/16"),
    ),
    (
        "gov",
        "{from: 互联网公网, source: 8.8.8.8, to: 政务外网区, target: 172.21.4.22, port: TCP443}",
        pack.RuleArgs("ingress", "tcp", 443, 443, "8.8.8.8/32"),
    ),
    (
        "internet",
        "{from: 互联网区, source: 172.20.9.9, to: 互联网区, target: 172.20.4.12, port: TCP3389}",
        pack.RuleArgs("ingress", "tcp", 3389, 3389, "172.20.9.9/32"),
    ),
    (
        "internet",
        "{from: 政务外网骨干网, source: 10.19.0.0/16, to: 互联网区, target: 172.20.4.11, "
        "port: TCP8080-8090}",
        pack.RuleArgs("ingress", "tcp", 8080, 8090, "10.19.0.0/16"),
    ),
    (
        "gov",
        "{from: 政务外网区, source: 172.21.0.10, to: 政务外网区, target: 172.21.4.22, port: /}",
        pack.RuleArgs("ingress", None, None, None, "172.21.0.10/32"),
    ),
]


@pytest.fixture(scope="module")
def with_bad_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """A copy of the example repository whose network policy has the rows above added."""
    copy = tmp_path_factory.mktemp("pack") / "policies"
    shutil.copytree(POLICIES, copy)
    form = copy / SYSTEM / "network-policy.yaml"
    lines = form.read_text(encoding="utf-8").splitlines()
    first = len(lines) + 1
    lines += [f"    - {cells}" for _, cells, _ in BAD_ROWS]
    form.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return copy, [first + i for i in range(len(BAD_ROWS))]


@pytest.mark.parametrize("i", range(len(BAD_ROWS)))
def test_pack_and_validate_agree_on_a_row(with_bad_rows: tuple[Path, list[int]], i: int) -> None:
    copy, lines = with_bad_rows
    v = validate([copy], clock.now_local(NOW))
    form = str(copy / SYSTEM / "network-policy.yaml")
    by_validate = {
        f.rule
        for f in v.findings
        if f.file == form and f.line == lines[i] and f.rule in pack.ROW_RULES
    }
    zone, _, args = BAD_ROWS[i]
    config = pack.Config(policies=str(copy), target_zone=zone, now=NOW)
    by_pack = {f.rule for f in pack.row_verdicts([args], config)[0]}
    assert by_pack == by_validate
    assert by_validate or i == len(BAD_ROWS) - 1 or i == 4, "each bad row breaks a rule"


def test_every_rule_the_example_grants_passes_the_pack() -> None:
    """The compiled ingress rules of a clean repository: no row verdict, all approved."""
    repo, _, _ = load_repository([POLICIES])
    state = desired.compile(repo, clock.now_local(NOW))
    assert repo.zones is not None
    groups = {g.key: g for g in state.groups}
    checked = 0
    for r in state.rules:
        if r.direction != "ingress" or r.remote_placeholder or not groups[r.group].hosts.cidrs:
            continue  # a placeholder's zone is not known from the rule
        zone = pack.zone_of(groups[r.group].hosts.cidrs[0], repo.zones)
        args = pack.RuleArgs(
            r.direction,
            r.protocol,
            r.port_min,
            r.port_max,
            r.remote_cidr,
            r.ethertype,
            r.description,
        )
        config = pack.Config(policies=str(POLICIES), target_zone=zone.id, now=NOW)
        assert pack.row_verdicts([args], config) == [[]], r
        assert pack.approved(args, state)
        checked += 1
    assert checked >= 5


def test_approval_needs_an_open_approved_row() -> None:
    repo, _, _ = load_repository([POLICIES])
    jan = desired.compile(repo, clock.now_local(NOW))
    ssh = next(
        r for r in jan.rules if r.port_min == 22 and r.direction == "ingress" and r.remote_cidr
    )
    args = pack.RuleArgs(
        ssh.direction, ssh.protocol, 22, 22, ssh.remote_cidr, ssh.ethertype, ssh.description
    )
    assert pack.is_high_risk(args, repo.high_risk_ports)
    assert pack.approved(args, jan)
    feb = desired.compile(repo, clock.now_local("2027-02-01T00:00"))
    assert not pack.approved(args, feb), "the January window has ended"
    forged = pack.RuleArgs(
        ssh.direction, ssh.protocol, 22, 22, "172.21.3.0/24", ssh.ethertype, ssh.description
    )
    assert not pack.approved(forged, jan), "a copied description does not approve another source"


def test_policies_report_through_pulumi_policy_args() -> None:
    """The pack's policies as CrossGuard calls them: mandatory for errors."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyCustomTimeouts,
        PolicyResourceOptions,
        ResourceValidationArgs,
    )

    policies = {p.name: p for p in pack.policies()}
    bastion = policies["cgcloud-cg310-ssh-rdp-bastion-only"]
    assert bastion.enforcement_level == EnforcementLevel.MANDATORY
    assert policies["cgcloud-approved-row"].enforcement_level == EnforcementLevel.ADVISORY

    def violations(name: str, props: dict, config: dict) -> list[str]:  # type: ignore[type-arg]
        got: list[str] = []
        args = ResourceValidationArgs(
            pack.RULE_TYPE,
            props,
            "urn:x",
            "r",
            PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), []),
            None,
            config,
        )
        policies[name].validate(args, lambda message, urn=None: got.append(message))
        return got

    config = {"policies": str(POLICIES), "targetZone": "gov", "now": NOW}
    open_ssh = {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "portRangeMin": 22,
        "portRangeMax": 22,
        "remoteIpPrefix": "0.0.0.0/0",
    }
    [msg] = violations("cgcloud-cg310-ssh-rdp-bastion-only", open_ssh, config)
    assert msg.startswith("CG310 此规则") and "堡垒机" in msg
    assert violations("cgcloud-approved-high-risk", open_ssh, config)
    assert not violations("cgcloud-approved-row", open_ssh, config), "high-risk: the other one"
    bastion_ssh = dict(open_ssh, remoteIpPrefix="172.21.0.10/32")
    assert not violations("cgcloud-cg310-ssh-rdp-bastion-only", bastion_ssh, config)


def test_example_pack_config_names_every_policy() -> None:
    """`--policy-pack-config` is keyed by policy name: the shipped example covers them all."""
    import json

    config = json.loads((ROOT / "policy-pack" / "config.example.json").read_text("utf-8"))
    assert set(config) == {p.name for p in pack.policies()}
    assert all(pack.Config.from_mapping(c).target_zone == "gov" for c in config.values())


def test_the_row_policies_share_one_validation_per_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """CrossGuard calls each of the nine row policies for every resource; they judge the
    rule's row once (benchmarks/README.md "pulumi pack": 9× fewer scratch validations)."""
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

    calls: list[int] = []
    real = pack.row_verdicts

    def counting(rules_args: list[pack.RuleArgs], config: pack.Config) -> Any:
        calls.append(len(rules_args))
        return real(rules_args, config)

    monkeypatch.setattr(pack, "row_verdicts", counting)
    pack.one_row.cache_clear()
    props = {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "portRangeMin": 3389,
        "portRangeMax": 3389,
        "remoteIpPrefix": "0.0.0.0/0",
    }
    config = {"policies": str(POLICIES), "targetZone": "gov", "now": NOW}
    args = ResourceValidationArgs(
        pack.RULE_TYPE,
        props,
        "urn:x",
        "r",
        PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), []),
        None,
        config,
    )
    rows = [p for p in pack.policies() if p.name.startswith("cgcloud-cg")]
    assert len(rows) == len(pack.ROW_RULES)
    got: list[str] = []
    for p in rows:
        p.validate(args, lambda message, urn=None: got.append(message))
    assert calls == [1] and any(m.startswith("CG310") for m in got)
