"""CG401 (signature in the future), CG402 (Roster), CG403 (approval order), CG404 (past period)."""

from __future__ import annotations

from formtexts import HIGH_RISK_PORTS, application, approvals, plan, policy, row

from cgcloud.findings import Severity

ROSTER = """\
apiVersion: cgcloud/v1
kind: Roster
people:
  - {name: 赵六, roles: [department]}
  - {name: 王五, roles: [initial, business_leader]}
  - {name: 钱七, roles: [recheck, cloud_resource_manager], from: 2026-01-01, to: 2027-12-31}
  - {name: 孙八, roles: [final]}
  - {name: 吴十, roles: [cloud_resource_leader]}
"""

PROJECT = """\
apiVersion: cgcloud/v1
kind: ProjectApplication
metadata: {id: KT-2027-0003, project: 智慧城管综合平台二期}
spec:
  forms: [ZY-2027-0001]
  signoffs:
    integrator:      {by: 某某集成公司, date: 2026-11-20}
    supervisor:      {by: 某某监理公司, date: 2026-11-21}
    project_manager: {by: 某某项目管理公司, date: 2026-11-22}
    cloud_provider:  {by: 武汉云, date: 2026-11-23}
"""

ROW = row("政务外网区", "172.21.4.21", "互联网区", "172.20.4.11", "TCP8443")


def setup(repo, app=None, net=None):
    repo.write("high-risk-ports.yaml", HIGH_RISK_PORTS)
    repo.write("plan.yaml", plan())
    repo.write("app.yaml", app or application())
    repo.write("network.yaml", net or policy([ROW]))


def triples(found):
    return [(f.rule, f.severity, f.line) for f in found]


# --------------------------------------------------------------------------- CG401


def test_signatures_on_or_before_today_pass(policy_repo):
    setup(
        policy_repo,
        net=policy(
            [ROW],
            reviewers={
                "cloud_resource_manager": ("钱七", "2026-11-25"),  # today is fine
                "business_leader": ("王五", "2026-11-21"),
                "cloud_resource_leader": ("吴十", "2026-11-22"),
            },
        ),
    )
    policy_repo.write("project.yaml", PROJECT)
    assert policy_repo.findings("CG401") == []


def test_a_signature_dated_after_today_is_an_error(policy_repo):
    setup(
        policy_repo,
        net=policy(
            [ROW],
            reviewers={
                "cloud_resource_manager": ("钱七", "2026-11-20"),
                "business_leader": ("王五", "2026-12-21"),  # typo: a month ahead
                "cloud_resource_leader": ("吴十", "2026-11-22"),
            },
        ),
    )
    assert triples(policy_repo.findings("CG401")) == [
        ("CG401", Severity.ERROR, policy_repo.line("network.yaml", "2026-12-21"))
    ]


def test_future_dates_in_approvals_and_sign_offs_are_errors_too(policy_repo):
    setup(policy_repo, app=application(boxes=approvals(final=("孙八", "2027-11-13"))))
    policy_repo.write("project.yaml", PROJECT.replace("2026-11-23", "2026-11-26"))
    found = policy_repo.findings("CG401")
    assert sorted((f.file.rsplit("/", 1)[-1], f.line) for f in found) == [
        ("app.yaml", policy_repo.line("app.yaml", "2027-11-13")),
        ("project.yaml", policy_repo.line("project.yaml", "2026-11-26")),
    ]


# --------------------------------------------------------------------------- CG402


def test_no_roster_means_no_roster_check(policy_repo):
    setup(policy_repo, app=application(boxes=approvals(final=("路人甲", "2026-11-13"))))
    assert policy_repo.findings("CG402") == []


def test_signers_holding_their_roles_pass_and_organisations_are_not_people(policy_repo):
    setup(policy_repo)
    policy_repo.write("roster.yaml", ROSTER)
    policy_repo.write("project.yaml", PROJECT)  # roster names no sign-off role: not governed
    assert policy_repo.findings("CG402") == []


def test_a_signer_without_the_role_is_an_error(policy_repo):
    setup(policy_repo, app=application(boxes=approvals(final=("王五", "2026-11-13"))))
    policy_repo.write("roster.yaml", ROSTER)
    found = policy_repo.findings("CG402")
    assert triples(found) == [("CG402", Severity.ERROR, policy_repo.line("app.yaml", "final:"))]
    assert "王五" in found[0].message and "final" in found[0].message


def test_a_signer_outside_the_roster_period_or_not_on_it_is_an_error(policy_repo):
    setup(
        policy_repo,
        app=application(
            boxes=approvals(recheck=("钱七", "2025-12-31"), department=("路人甲", "2025-12-30"))
        ),
    )
    policy_repo.write("roster.yaml", ROSTER)
    found = policy_repo.findings("CG402")
    assert sorted(f.line for f in found) == [
        policy_repo.line("app.yaml", "department: {by"),
        policy_repo.line("app.yaml", "recheck:"),
    ]
    assert all(f.severity is Severity.ERROR for f in found)


def test_sign_offs_are_governed_once_the_roster_names_their_role(policy_repo):
    setup(policy_repo)
    policy_repo.write("roster.yaml", ROSTER + "  - {name: 某某集成公司, roles: [integrator]}\n")
    policy_repo.write("project.yaml", PROJECT.replace("某某监理公司", "冒名监理公司"))
    assert policy_repo.findings("CG402") == []  # supervisor: nobody listed, not governed
    policy_repo.write("project.yaml", PROJECT.replace("某某集成公司", "冒名集成公司"))
    assert triples(policy_repo.findings("CG402")) == [
        ("CG402", Severity.ERROR, policy_repo.line("project.yaml", "冒名集成公司"))
    ]


# --------------------------------------------------------------------------- CG403


def test_approvals_in_order_pass(policy_repo):
    setup(policy_repo, app=application(boxes=approvals(final=None, recheck=None)))
    assert policy_repo.findings("CG403") == []
    setup(policy_repo, app=application(boxes=approvals(initial=("王五", "2026-11-10"))))
    assert policy_repo.findings("CG403") == []  # same day is not decreasing


def test_a_later_box_signed_before_an_earlier_one_is_an_error(policy_repo):
    setup(policy_repo, app=application(boxes=approvals(recheck=None)))
    found = policy_repo.findings("CG403")
    # the missing recheck box points at the approvals mapping that should hold it
    assert triples(found) == [("CG403", Severity.ERROR, policy_repo.line("app.yaml", "approvals:"))]


def test_approval_dates_must_not_decrease(policy_repo):
    setup(policy_repo, app=application(boxes=approvals(recheck=("钱七", "2026-11-09"))))
    found = policy_repo.findings("CG403")
    assert triples(found) == [("CG403", Severity.ERROR, policy_repo.line("app.yaml", "2026-11-09"))]


# --------------------------------------------------------------------------- CG404


def test_current_and_future_periods_are_not_reported(policy_repo):
    setup(policy_repo, net=policy([ROW], normal=("2026-01-01", "2026-11-25")))
    assert policy_repo.findings("CG404") == []  # ends today: still active all day


def test_a_period_wholly_in_the_past_is_information(policy_repo):
    setup(policy_repo, net=policy([ROW], normal=("2025-12-01", "2026-11-24")))
    assert triples(policy_repo.findings("CG404")) == [
        ("CG404", Severity.INFO, policy_repo.line("network.yaml", "period:"))
    ]
