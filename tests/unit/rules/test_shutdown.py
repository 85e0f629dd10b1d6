"""CG601–CG604: the ShutdownNotice (附件3)."""

from __future__ import annotations

from formtexts import application, plan

from cgcloud.findings import Severity

NOTICE = """\
apiVersion: cgcloud/v1
kind: ShutdownNotice
metadata:
  id: GT-2026-0012
  system: {system}
spec:
  hosts:
    - 172.20.4.21
    - {host}
  tech_division:
    by: 钱七
    date: {tech}
  business_division:
    by: 王五
    date: {business}
    prepare_by: {prepare}
    shutdown_date: {shutdown}
  operator:
    by: 李四
    date: {operator}
    data_copied: {copied}
"""


def notice(**kw):
    values = dict(
        system="旧版数字城管系统",
        host="172.21.4.22",
        tech="2026-11-18",
        business="2026-11-19",
        prepare="2026-12-14",
        shutdown="2026-12-15",
        operator="2026-11-24",
        copied="true",
    )
    values.update(kw)
    return NOTICE.format(**values)


def setup(repo, **kw):
    repo.write("plan.yaml", plan(2026))
    repo.write("app.yaml", application("ZY-2026-0007", system="旧版数字城管系统", year=2026))
    repo.write("shutdown.yaml", notice(**kw))


def triples(found):
    return [(f.rule, f.severity, f.line) for f in found]


def test_a_clean_notice_has_no_shutdown_findings(policy_repo):
    setup(policy_repo)
    found = [f for f in policy_repo.findings() if f.rule.startswith("CG6")]
    assert found == []


# --------------------------------------------------------------------------- CG601


def test_a_notice_for_a_system_without_application_is_an_error(policy_repo):
    setup(policy_repo, system="不存在的系统")
    assert triples(policy_repo.findings("CG601")) == [
        ("CG601", Severity.ERROR, policy_repo.line("shutdown.yaml", "system:"))
    ]


# --------------------------------------------------------------------------- CG602


def test_hosts_must_be_single_internal_addresses(policy_repo):
    for bad in ("172.20.4.22-23", "10.1.1.1", "172.20.4.256", "智慧城管-数据库", "172.20.4.0/24"):
        setup(policy_repo, host=bad)
        assert triples(policy_repo.findings("CG602")) == [
            ("CG602", Severity.ERROR, policy_repo.line("shutdown.yaml", f"- {bad}"))
        ], bad


# --------------------------------------------------------------------------- CG603


def test_dates_in_order_pass_and_a_late_operator_confirmation_is_allowed(policy_repo):
    setup(policy_repo, tech="2026-11-19", prepare="2026-12-15", operator="2026-11-20")
    assert policy_repo.findings("CG603") == []
    setup(policy_repo, operator="2026-12-20")  # late: the delay is CG604's business
    assert policy_repo.findings("CG603", now="2026-12-21") == []


def test_prepare_by_after_the_shutdown_date_is_an_error(policy_repo):
    setup(policy_repo, prepare="2026-12-16")
    assert triples(policy_repo.findings("CG603")) == [
        ("CG603", Severity.ERROR, policy_repo.line("shutdown.yaml", "shutdown_date:"))
    ]


def test_signing_dates_out_of_order_are_errors(policy_repo):
    setup(policy_repo, tech="2026-11-20", operator="2026-11-18")
    found = policy_repo.findings("CG603")
    assert triples(found) == [
        ("CG603", Severity.ERROR, policy_repo.line("shutdown.yaml", "date: 2026-11-19")),
        ("CG603", Severity.ERROR, policy_repo.line("shutdown.yaml", "date: 2026-11-18")),
    ]


# --------------------------------------------------------------------------- CG604


def test_before_the_shutdown_date_or_once_confirmed_nothing_is_reported(policy_repo):
    setup(policy_repo, copied="false")
    assert policy_repo.findings("CG604") == []  # 2026-11-25: not yet
    setup(policy_repo)
    assert policy_repo.findings("CG604", now="2026-12-20") == []


def test_shutdown_date_reached_without_confirmation_is_a_warning(policy_repo):
    setup(policy_repo, copied="false")
    found = policy_repo.findings("CG604", now="2026-12-15T00:00")
    assert triples(found) == [
        ("CG604", Severity.WARNING, policy_repo.line("shutdown.yaml", "operator:"))
    ]
