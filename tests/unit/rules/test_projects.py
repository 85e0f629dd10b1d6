"""CG701–CG703: the ProjectApplication (附件4)."""

from __future__ import annotations

from formtexts import application, plan, policy, row

from cgcloud.findings import Severity

PROJECT = """\
apiVersion: cgcloud/v1
kind: ProjectApplication
metadata: {{id: KT-2027-0003, project: 智慧城管综合平台二期}}
spec:
  forms:
    - ZY-2027-0001
    - {second}
  signoffs:
    integrator:      {{by: 某某集成公司, date: 2026-11-20}}
    supervisor:      {{by: 某某监理公司, date: 2026-11-21}}
    project_manager: {{by: 某某项目管理公司, date: 2026-11-22}}
{last}"""
LAST = "    cloud_provider:  {by: 武汉云, date: 2026-11-23}\n"


def setup(repo, second="WL-2026-0031", last=LAST):
    repo.write("plan.yaml", plan())
    repo.write("app.yaml", application())
    repo.write(
        "network.yaml",
        policy([row("政务外网区", "172.21.4.21", "互联网区", "172.20.4.11", "TCP8443")]),
    )
    repo.write("project.yaml", PROJECT.format(second=second, last=last))


def triples(found):
    return [(f.rule, f.severity, f.line) for f in found]


def test_a_complete_project_has_no_project_findings(policy_repo):
    setup(policy_repo)
    assert [f for f in policy_repo.findings() if f.rule.startswith("CG7")] == []


def test_a_bundled_form_missing_from_the_repository_is_an_error(policy_repo):
    setup(policy_repo, second="WL-2026-9999")
    assert triples(policy_repo.findings("CG701")) == [
        ("CG701", Severity.ERROR, policy_repo.line("project.yaml", "WL-2026-9999"))
    ]


def test_incomplete_sign_offs_make_the_forms_pending(policy_repo):
    setup(policy_repo, last="    cloud_provider: {by: null, date: null}\n")
    found = policy_repo.findings("CG702")
    assert triples(found) == [
        ("CG702", Severity.INFO, policy_repo.line("project.yaml", "signoffs:"))
    ]
    assert "云服务单位" in found[0].message
    setup(policy_repo, last="")
    assert [f.severity for f in policy_repo.findings("CG702")] == [Severity.INFO]


def test_only_applications_and_network_policies_may_be_bundled(policy_repo):
    setup(policy_repo, second="JH-2027-市政设施处")
    assert triples(policy_repo.findings("CG703")) == [
        ("CG703", Severity.ERROR, policy_repo.line("project.yaml", "- JH-2027"))
    ]
    assert policy_repo.findings("CG701") == []
