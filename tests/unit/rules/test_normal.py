"""CG201 (normal section) and CG202 (审核人1) for normal rows."""

from __future__ import annotations

from cgcloud.findings import Severity

NORMAL_ROW = (
    "{from: 政务外网区, source: 172.21.0.111, to: 互联网区, target: 172.20.4.111, port: TCP9999}"
)
HR_ROW = "{from: 政务外网区, source: 172.21.3.0/24, to: 政务外网区, target: 智慧城管-数据库, port: TCP3306}"


def mine(repo, rule, now="2026-11-25T10:00"):
    return [f for f in repo.validate(now) if f.rule == rule]


def test_normal_rows_with_section_and_reviewer_pass(policy_repo):
    reviewers = "reviewers:\n  cloud_resource_manager: {by: 钱七, date: 2026-11-20}\n"
    policy_repo.policy([NORMAL_ROW], high_risk=None, reviewers=reviewers)
    found = policy_repo.validate()
    assert [f for f in found if f.rule in ("CG201", "CG202")] == []


def test_normal_rows_without_section_fail(policy_repo):
    policy_repo.policy([NORMAL_ROW, HR_ROW], normal=None)
    (f,) = mine(policy_repo, "CG201")
    assert f.severity is Severity.ERROR
    assert f.line == policy_repo.line("network.yaml", "spec:")
    assert "第1行" in f.message and "第2行" not in f.message  # the high-risk row is not normal


def test_only_high_risk_rows_need_no_normal_section(policy_repo):
    policy_repo.policy([HR_ROW], normal=None)
    assert mine(policy_repo, "CG201") == []
    assert mine(policy_repo, "CG202") == []


def test_unsigned_reviewer1_fails(policy_repo):
    reviewers = "reviewers:\n  cloud_resource_manager: {by: null}\n"
    policy_repo.policy([NORMAL_ROW], high_risk=None, reviewers=reviewers)
    (f,) = mine(policy_repo, "CG202")
    assert f.severity is Severity.ERROR
    assert f.line == policy_repo.line("network.yaml", "cloud_resource_manager:")
    assert "审核人1" in f.message and "未签字" in f.message


def test_missing_reviewers_fail_at_spec(policy_repo):
    policy_repo.policy([NORMAL_ROW], high_risk=None, reviewers=None)
    (f,) = mine(policy_repo, "CG202")
    assert f.line == policy_repo.line("network.yaml", "spec:")


def test_reviewer1_after_period_start_fails(policy_repo):
    reviewers = "reviewers:\n  cloud_resource_manager: {by: 钱七, date: 2026-12-02}\n"
    policy_repo.policy([NORMAL_ROW], high_risk=None, reviewers=reviewers)
    (f,) = mine(policy_repo, "CG202", now="2026-12-10T09:00")
    assert f.line == policy_repo.line("network.yaml", "cloud_resource_manager:")
    assert "2026-12-02" in f.message and "2026-12-01" in f.message


def test_reviewer1_on_period_start_passes(policy_repo):
    reviewers = "reviewers:\n  cloud_resource_manager: {by: 钱七, date: 2026-12-01}\n"
    policy_repo.policy([NORMAL_ROW], high_risk=None, reviewers=reviewers)
    assert mine(policy_repo, "CG202", now="2026-12-10T09:00") == []
