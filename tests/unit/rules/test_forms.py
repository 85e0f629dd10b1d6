"""Form-level rules: CG010 (apiVersion/kind), CG011–CG013 (schema), CG014, CG020, CG021."""

from __future__ import annotations

from cgcloud.findings import Severity

PLAN = """\
    apiVersion: cgcloud/v1
    kind: AnnualPlan
    metadata: {id: JH-2027-市政设施处, department: 市政设施处}
    spec: {year: 2027, vcpu: 256, memory_gb: 512, disk_gb: 200000, public_ip: 10}
"""


def test_valid_form_has_no_form_findings(policy_repo) -> None:
    policy_repo.write("plan.yaml", PLAN)
    assert [f for f in policy_repo.findings() if f.rule.startswith("CG0")] == []


def test_cg010_unknown_kind(policy_repo) -> None:
    policy_repo.write("plan.yaml", PLAN.replace("kind: AnnualPlan", "kind: AnualPlan"))
    (f,) = policy_repo.findings("CG010")
    assert f.severity is Severity.ERROR
    assert f.line == policy_repo.line("plan.yaml", "kind:")
    assert "AnualPlan" in f.message


def test_cg010_wrong_api_version(policy_repo) -> None:
    policy_repo.write("plan.yaml", PLAN.replace("cgcloud/v1", "cgcloud/v2"))
    (f,) = policy_repo.findings("CG010")
    assert f.line == 1


def test_cg010_document_not_a_mapping(policy_repo) -> None:
    policy_repo.write("plan.yaml", "- just\n- a list\n")
    (f,) = policy_repo.findings("CG010")
    assert f.line == 1


def test_cg011_unknown_key(policy_repo) -> None:
    policy_repo.write("plan.yaml", PLAN.replace("public_ip: 10}", "public_ip: 10, vpcu: 3}"))
    (f,) = policy_repo.findings("CG011")
    assert "vpcu" in f.message
    assert f.line == policy_repo.line("plan.yaml", "vpcu")


def test_cg012_missing_required(policy_repo) -> None:
    policy_repo.write("plan.yaml", PLAN.replace("spec: {year: 2027, ", "spec: {"))
    (f,) = policy_repo.findings("CG012")
    assert "year" in f.message
    assert f.line == policy_repo.line("plan.yaml", "spec:")


def test_cg013_wrong_type(policy_repo) -> None:
    policy_repo.write("plan.yaml", PLAN.replace("vcpu: 256", "vcpu: many"))
    (f,) = policy_repo.findings("CG013")
    assert f.line == policy_repo.line("plan.yaml", "vcpu: many")
    assert "整数" in f.message


def test_cg013_impossible_date(policy_repo) -> None:
    policy_repo.write(
        "roster.yaml",
        """\
        apiVersion: cgcloud/v1
        kind: Roster
        people:
          - {name: 钱七, roles: [recheck], from: 2026-02-30}
        """,
    )
    (f,) = policy_repo.findings("CG013")
    assert "2026-02-30" in f.message
    assert f.line == 4


def test_cg020_duplicate_id(policy_repo) -> None:
    policy_repo.write("a/plan.yaml", PLAN)
    policy_repo.write("b/plan.yaml", PLAN)
    (f,) = policy_repo.findings("CG020")
    assert f.file.endswith("b/plan.yaml")
    assert f.line == 3
    assert "a/plan.yaml" in f.message


def test_cg021_two_zones_files(policy_repo) -> None:
    zones = (policy_repo.root / "zones.yaml").read_text("utf-8")
    policy_repo.write("more/zones.yaml", zones)
    assert len(policy_repo.findings("CG021")) == 1


def test_cg011_port_list_cut_by_flow_comma_gets_a_hint(policy_repo) -> None:
    policy_repo.write(
        "np.yaml",
        """\
        apiVersion: cgcloud/v1
        kind: NetworkPolicy
        metadata: {id: WL-X, system: S}
        spec:
          applicant: {org: 某公司, name: 周九, phone: "13900000000"}
          rules:
            - {from: 互联网区, source: 172.20.4.11, to: 政务外网区, target: 172.21.4.21, port: TCP80,443}
        """,
    )
    (f,) = policy_repo.findings("CG011")
    assert "'443'" in f.message and "加引号" in f.message
    assert f.line == 7
