"""compile(): the example repository at fixed times (golden files) and targeted cases.

Regenerate the golden files after an intended change with
``CGCLOUD_UPDATE_GOLDEN=1 pytest tests/unit/reconcile`` and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cgcloud import clock, desired
from cgcloud.validate import load_repository

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
GOLDEN = Path(__file__).parent / "golden"
SYSTEM = "智慧城管综合平台"


# the room Neutron needs (engines/openstack/neutron.py), as the golden files were made
ROOM = desired.QuotaRoom(groups=1, rules=4, rules_per_new_group=2)


def compile_at(paths: list[Path], now: str, room: desired.QuotaRoom = ROOM) -> desired.DesiredState:
    repo, _, _ = load_repository(paths)
    return desired.compile(repo, clock.now_local(now), room)


@pytest.mark.parametrize("now", ["2026-12-01T10:00", "2027-01-15T10:00", "2027-02-15T10:00"])
def test_example_repository_golden(now: str) -> None:
    got = compile_at([POLICIES], now).to_dict()
    path = GOLDEN / f"desired-{now[:10]}.json"
    text = json.dumps(got, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get("CGCLOUD_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    # a missing golden file is a failure, never written silently (that would pass anything)
    assert path.exists(), f"{path} is missing: regenerate with CGCLOUD_UPDATE_GOLDEN=1 and review"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text)


def test_json_serialisable_and_deterministic() -> None:
    a = compile_at([POLICIES], "2027-01-15T10:00").to_dict()
    b = compile_at([POLICIES], "2027-01-15T10:00").to_dict()
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def test_project_quotas_and_tags() -> None:
    state = compile_at([POLICIES], "2027-01-15T10:00")
    assert [p.system for p in state.projects] == [SYSTEM]
    p = state.projects[0]
    assert desired.MANAGED_TAG in p.tags and f"cgcloud:system={SYSTEM}" in p.tags
    assert "cgcloud:status=formal" in p.tags
    assert "ZY-2027-0001" in p.description
    q = p.quotas
    assert (q.instances, q.cores, q.ram_mb) == (5, 64, 160 * 1024)
    assert q.gigabytes == 500 + 12000
    assert q.gigabytes_by_tier == {"high-speed": 2000, "standard": 10000}
    assert q.floating_ips == 2
    n_groups = len(state.groups)
    assert q.security_groups == n_groups + ROOM.groups
    assert q.security_group_rules == (
        len(state.rules) + ROOM.rules + ROOM.rules_per_new_group * n_groups
    )
    assert [f.name for f in state.flavors] == ["cg-16c32g100d", "cg-16c64g100d", "cg-8c16g100d"]


def test_group_and_rule_quotas_leave_exactly_the_engines_room() -> None:
    bare = compile_at([POLICIES], "2027-01-15T10:00", desired.NO_ROOM)
    roomy = compile_at([POLICIES], "2027-01-15T10:00", desired.QuotaRoom(3, 10, 5))
    [q0] = [p.quotas for p in bare.projects if p.system == SYSTEM]
    [q1] = [p.quotas for p in roomy.projects if p.system == SYSTEM]
    mine = [g for g in bare.groups if g.system == SYSTEM]
    assert (q0.security_groups, q0.security_group_rules) == (
        len(mine),
        sum(1 for r in bare.rules if r.system == SYSTEM),
    )
    assert q1.security_groups == q0.security_groups + 3
    assert q1.security_group_rules == q0.security_group_rules + 10 + 5 * len(mine)
    assert q1.cores == q0.cores  # the room touches the group and rule quotas only


def test_lapsed_system_is_noted_not_compiled() -> None:
    state = compile_at([POLICIES], "2027-01-15T10:00")
    assert state.project("旧版数字城管系统") is None
    assert any(
        n.kind == "no-approved-resources" and n.system == "旧版数字城管系统" for n in state.notes
    )


def test_rule_shapes_and_descriptions() -> None:
    state = compile_at([POLICIES], "2027-01-15T10:00")
    by_desc: dict[str, list[desired.Rule]] = {}
    for r in state.rules:
        by_desc.setdefault(r.description, []).append(r)
    # row 1: public → two web hosts, HTTPS: one ingress rule from anywhere, one group
    row1 = by_desc["cgcloud WL-2026-0031#1 until 2027-12-31"]
    assert [(r.direction, r.protocol, r.port_min, r.remote_cidr) for r in row1] == [
        ("ingress", "tcp", 443, "0.0.0.0/0")
    ]
    # row 5: `/` = any protocol, egress only (target is external)
    row5 = by_desc["cgcloud WL-2026-0031#5 until 2027-12-31"]
    assert [(r.direction, r.protocol, r.port_min) for r in row5] == [("egress", None, None)]
    # row 2: range 172.20.4.11-12 → fewest CIDRs, both legs
    row2 = by_desc["cgcloud WL-2026-0031#2 until 2027-12-31"]
    assert sorted((r.direction, r.remote_cidr) for r in row2) == [
        ("egress", "172.21.4.21/32"),
        ("egress", "172.21.4.22/32"),
        ("ingress", "172.20.4.11/32"),
        ("ingress", "172.20.4.12/32"),
    ]
    # row 10: high-risk, window end of the high-risk section; placeholder target
    row10 = by_desc["cgcloud WL-2026-0031#10 until 2027-01-31"]
    ingress = [r for r in row10 if r.direction == "ingress"]
    assert ingress[0].remote_cidr == "172.21.3.0/24"
    group = next(g for g in state.groups if g.key == ingress[0].group)
    assert group.hosts.placeholder == "智慧城管-数据库"
    egress = [r for r in row10 if r.direction == "egress"]
    assert egress[0].remote_placeholder == "智慧城管-数据库"
    # bastion sources get no egress leg
    assert not any(g.hosts.cidrs == ("172.20.0.10/32",) for g in state.groups)


def test_rows_outside_window_are_absent() -> None:
    jan = compile_at([POLICIES], "2027-01-31T23:59")
    feb = compile_at([POLICIES], "2027-02-01T00:00")
    assert any("until 2027-01-31" in r.description for r in jan.rules)
    assert not any("until 2027-01-31" in r.description for r in feb.rules)
    assert not compile_at([POLICIES], "2026-12-31T23:59").rules


def test_description_round_trip() -> None:
    reason = desired.Reason("WL-2026-0031", 4, "2026-12-31")
    text = desired.description_for(reason)
    assert text == "cgcloud WL-2026-0031#4 until 2026-12-31"
    assert desired.parse_description(text) == reason
    assert desired.parse_description("made by hand") is None


def _copy_repo(tmp_path: Path) -> Path:
    dst = tmp_path / "policies"
    shutil.copytree(POLICIES, dst)
    return dst


def test_expand_adds_to_quotas(tmp_path: Path) -> None:
    repo = _copy_repo(tmp_path)
    (repo / SYSTEM / "expand.yaml").write_text(
        """apiVersion: cgcloud/v1
kind: ResourceApplication
metadata: {id: ZY-2027-0009, system: 智慧城管综合平台, department: 市政设施处}
spec:
  type: expand
  year: 2027
  contact: {name: 张三, phone: "027-85551234"}
  reason: 扩容
  resources:
    - {type: server, vcpu: 8, memory_gb: 16, system_disk_gb: 100, count: 1}
    - {type: public_ip, count: 1}
  operators: [{name: 李四, phone: "13800000000"}]
  approvals:
    department: {by: 赵六, date: 2026-11-14, opinion: 同意}
    initial:    {by: 王五, date: 2026-11-15, opinion: 同意}
    recheck:    {by: 钱七, date: 2026-11-16, recommend: formal}
    final:      {by: 孙八, date: 2026-11-17, decision: formal}
""",
        encoding="utf-8",
    )
    p = compile_at([repo], "2027-01-15T10:00").projects[0]
    assert (p.quotas.instances, p.quotas.cores, p.quotas.floating_ips) == (6, 72, 3)
    assert [r.form for r in p.reasons] == ["ZY-2027-0001", "ZY-2027-0009"]


def test_unsigned_bundle_keeps_forms_pending(tmp_path: Path) -> None:
    repo = _copy_repo(tmp_path)
    pa = repo / SYSTEM / "project-application.yaml"
    pa.write_text(
        pa.read_text(encoding="utf-8").replace(
            "cloud_provider:  {by: 武汉云, date: 2026-11-24}", "cloud_provider:  null"
        ),
        encoding="utf-8",
    )
    state = compile_at([repo], "2027-01-15T10:00")
    assert not state.projects and not state.rules
    assert {n.kind for n in state.notes} >= {"pending-form"}


def test_high_risk_row_needs_three_reviewers(tmp_path: Path) -> None:
    repo = _copy_repo(tmp_path)
    np = repo / SYSTEM / "network-policy.yaml"
    np.write_text(
        np.read_text(encoding="utf-8").replace(
            "cloud_resource_leader:  {by: 吴十, date: 2026-11-22}", "cloud_resource_leader:  null"
        ),
        encoding="utf-8",
    )
    state = compile_at([repo], "2027-01-15T10:00")
    assert not any("until 2027-01-31" in r.description for r in state.rules)
    assert any("until 2027-12-31" in r.description for r in state.rules)
    assert any(n.kind == "unapproved-row" for n in state.notes)
