"""CG301–CG306: high-risk ports (第十三条)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cgcloud import grammar
from cgcloud.findings import Severity
from cgcloud.rules.high_risk import too_wide

HRP = """\
apiVersion: cgcloud/v1
kind: HighRiskPorts
max_source_prefix: 24
ports:
  - {port: TCP22, name: SSH}
  - {port: TCP3389, name: RDP}
  - {port: TCP3306, name: MySQL}
  - {port: TCP135-139, name: NetBIOS/RPC}
  - {port: UDP161, name: SNMP}
"""
NORMAL_ROW = (
    "{from: 政务外网区, source: 172.21.0.111, to: 互联网区, target: 172.20.4.111, port: TCP9999}"
)
HR_ROW = "{from: 政务外网区, source: 172.21.3.0/24, to: 政务外网区, target: 智慧城管-数据库, port: TCP3306}"
IDS = ("CG301", "CG302", "CG303", "CG304", "CG305", "CG306")


def hr_section(start: str, end: str, extra: str = "") -> str:
    return (
        "high_risk:\n"
        "  reason: 数据迁移期间临时开放数据库端口\n"
        f"  period: {{start: {start}, end: {end}}}\n" + extra
    )


def reviewers(d1="2026-11-20", d2="2026-11-21", d3="2026-11-22", b1="钱七", b2="王五", b3="吴十"):
    return (
        "reviewers:\n"
        f"  cloud_resource_manager: {{by: {b1}, date: {d1}}}\n"
        f"  business_leader: {{by: {b2}, date: {d2}}}\n"
        f"  cloud_resource_leader: {{by: {b3}, date: {d3}}}\n"
    )


@pytest.fixture
def repo(policy_repo):
    policy_repo.write("high-risk-ports.yaml", HRP)
    return policy_repo


def mine(repo, rule, now="2026-11-25T10:00"):
    found = repo.validate(now)
    return [f for f in found if f.rule == rule], {f.rule for f in found if f.rule in IDS}


def test_valid_high_risk_row_passes(repo):
    repo.policy([NORMAL_ROW, HR_ROW])
    found = repo.validate()
    assert [f for f in found if f.rule in IDS] == []


# --------------------------------------------------------------------------- CG301/302


def test_window_longer_than_a_month_fails(repo):
    repo.policy([NORMAL_ROW, HR_ROW], high_risk=hr_section("2026-12-01", "2027-01-05"))
    found, rules = mine(repo, "CG301")
    assert rules == {"CG301"}
    (f,) = found
    assert f.severity is Severity.ERROR
    assert f.line == repo.line("network.yaml", "end: 2027-01-05")
    assert "2026-12-01 至 2027-01-05" in f.message
    assert "2026-12-31" in f.message  # the last allowed end
    assert "第2行" in f.message and "TCP3306 (MySQL)" in f.message
    assert "2026-12-31" in f.hint


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("2026-12-01", "2026-12-31", True),
        ("2026-12-01", "2027-01-01", False),
        ("2026-12-15", "2027-01-14", True),
        ("2026-12-15", "2027-01-15", False),
        ("2027-01-31", "2027-02-27", True),  # 01-31 + 1 month = 02-28, minus a day
        ("2027-01-31", "2027-02-28", False),
        ("2028-01-31", "2028-02-28", True),  # leap year: 02-29 - 1 day
        ("2028-01-31", "2028-02-29", False),
        ("2027-03-31", "2027-04-29", True),  # 04-30 - 1 day
        ("2027-03-31", "2027-04-30", False),
    ],
)
def test_one_month_boundary(repo, start, end, ok):
    repo.policy([HR_ROW], high_risk=hr_section(start, end), normal=None)
    found, _ = mine(repo, "CG301")
    assert (found == []) is ok


def test_exception_turns_long_window_into_warning(repo):
    extra = "  exception: {reason: 跨月数据迁移, by: 吴十, date: 2026-11-20}\n"
    repo.policy([NORMAL_ROW, HR_ROW], high_risk=hr_section("2026-12-01", "2027-01-05", extra))
    found, rules = mine(repo, "CG302")
    assert rules == {"CG302"}  # a warning instead of CG301, never both
    (f,) = found
    assert f.severity is Severity.WARNING
    assert f.line == repo.line("network.yaml", "end: 2027-01-05")
    assert "2026-12-31" in f.message and "TCP3306 (MySQL)" in f.message
    assert "跨月数据迁移" in f.message


def test_exception_on_a_short_window_is_silent(repo):
    extra = "  exception: {reason: 备用, by: 吴十, date: 2026-11-20}\n"
    repo.policy([NORMAL_ROW, HR_ROW], high_risk=hr_section("2026-12-01", "2026-12-31", extra))
    found = repo.validate()
    assert [f for f in found if f.rule in IDS] == []


# --------------------------------------------------------------------------- CG306


def test_exception_dated_after_window_start_fails(repo):
    extra = "  exception: {reason: 跨月数据迁移, by: 吴十, date: 2026-12-05}\n"
    repo.policy([NORMAL_ROW, HR_ROW], high_risk=hr_section("2026-12-01", "2027-01-05", extra))
    found, rules = mine(repo, "CG306", now="2026-12-10T09:00")
    (f,) = found
    assert f.severity is Severity.ERROR
    assert f.line == repo.line("network.yaml", "date: 2026-12-05")
    assert "2026-12-05" in f.message and "2026-12-01" in f.message
    assert "TCP3306 (MySQL)" in f.message
    assert "CG301" not in rules  # the exception still counts; its date is CG306's


def test_exception_dated_on_window_start_passes(repo):
    extra = "  exception: {reason: 跨月数据迁移, by: 吴十, date: 2026-12-01}\n"
    repo.policy([NORMAL_ROW, HR_ROW], high_risk=hr_section("2026-12-01", "2027-01-05", extra))
    found, _ = mine(repo, "CG306", now="2026-12-10T09:00")
    assert found == []


# --------------------------------------------------------------------------- CG303


def test_high_risk_rows_without_section_fail(repo):
    repo.policy([NORMAL_ROW, HR_ROW], high_risk=None)
    found, _ = mine(repo, "CG303")
    (f,) = found
    assert f.severity is Severity.ERROR
    assert f.line == repo.line("network.yaml", "spec:")
    assert "第2行" in f.message and "TCP3306 (MySQL)" in f.message


def test_no_high_risk_rows_need_no_section(repo):
    udp = HR_ROW.replace("TCP3306", "UDP3306")  # a UDP port does not match a TCP entry
    repo.policy([NORMAL_ROW, udp], high_risk=None)
    found = repo.validate()
    assert [f for f in found if f.rule in IDS] == []


def test_any_port_is_high_risk(repo):
    row = "{from: 互联网区, source: 172.20.0.10, to: 互联网区, target: 172.20.4.111, port: /}"
    repo.policy([NORMAL_ROW, row], high_risk=None)
    (f,) = mine(repo, "CG303")[0]
    assert "第2行" in f.message and "命中全部高危端口" in f.message


def test_port_range_meeting_an_entry_is_high_risk(repo):
    row = HR_ROW.replace("TCP3306", "TCP100-136")
    repo.policy([row], high_risk=None)
    (f,) = mine(repo, "CG303")[0]
    assert "TCP135-139 (NetBIOS/RPC)" in f.message


# --------------------------------------------------------------------------- CG304


def test_all_three_reviewers_missing_one_fails(repo):
    text = (
        "reviewers:\n"
        "  cloud_resource_manager: {by: 钱七, date: 2026-11-20}\n"
        "  cloud_resource_leader: {by: 吴十, date: 2026-11-22}\n"
    )
    repo.policy([NORMAL_ROW, HR_ROW], reviewers=text)
    found, _ = mine(repo, "CG304")
    (f,) = found
    assert f.severity is Severity.ERROR
    assert f.line == repo.line("network.yaml", "reviewers:")  # the box that should hold it
    assert "审核人2" in f.message and "TCP3306 (MySQL)" in f.message


def test_null_reviewer_box_fails_at_the_box(repo):
    text = reviewers().replace("{by: 吴十, date: 2026-11-22}", "null")
    repo.policy([NORMAL_ROW, HR_ROW], reviewers=text)
    (f,) = mine(repo, "CG304")[0]
    assert f.line == repo.line("network.yaml", "cloud_resource_leader: null")
    assert "审核人3" in f.message


def test_same_person_twice_fails(repo):
    repo.policy([NORMAL_ROW, HR_ROW], reviewers=reviewers(b3="钱七"))
    (f,) = mine(repo, "CG304")[0]
    assert f.line == repo.line("network.yaml", "cloud_resource_leader:")
    assert "同一人" in f.message and "钱七" in f.message


def test_reviewer_after_period_start_fails(repo):
    repo.policy([NORMAL_ROW, HR_ROW], reviewers=reviewers(d2="2026-12-02"))
    found, _ = mine(repo, "CG304", now="2026-12-10T09:00")
    (f,) = found
    assert f.line == repo.line("network.yaml", "business_leader:")
    assert "2026-12-02" in f.message and "2026-12-01" in f.message


def test_every_problem_is_its_own_finding(repo):
    text = "reviewers:\n  cloud_resource_manager: {by: 钱七, date: 2026-12-03}\n  business_leader: {by: 钱七, date: 2026-11-21}\n"
    repo.policy([NORMAL_ROW, HR_ROW], reviewers=text)
    found, _ = mine(repo, "CG304", now="2026-12-10T09:00")
    assert len(found) == 3  # late date, same person, missing 审核人3


def test_reviewer_on_period_start_passes(repo):
    repo.policy([NORMAL_ROW, HR_ROW], reviewers=reviewers(d3="2026-12-01"))
    assert mine(repo, "CG304", now="2026-12-10T09:00")[0] == []


def test_reviewers_not_needed_without_high_risk_rows(repo):
    text = "reviewers:\n  cloud_resource_manager: {by: 钱七, date: 2026-11-20}\n"
    repo.policy([NORMAL_ROW], reviewers=text)
    assert mine(repo, "CG304")[0] == []


# --------------------------------------------------------------------------- CG305


@pytest.mark.parametrize(
    "source",
    [
        "172.21.3.0/24",
        "172.21.3.0/25",
        "172.21.3.5",
        "172.21.1.0/24、172.21.3.0/24",
        "智慧城管-迁移机",
    ],
    ids=["/24", "/25", "host", "two-apart-/24s", "placeholder"],
)
def test_restricted_source_passes(repo, source):
    repo.policy([HR_ROW.replace("172.21.3.0/24", source)])
    assert mine(repo, "CG305")[0] == []


@pytest.mark.parametrize(
    ("row", "words"),
    [
        (HR_ROW.replace("172.21.3.0/24", "172.21.2.0/23"), "172.21.2.0/23"),
        (HR_ROW.replace("172.21.3.0/24", "172.21.2.0/24、172.21.3.0/24"), "172.21.2.0/23"),
        (HR_ROW.replace("172.21.3.0/24", "172.21.2.0-172.21.3.255"), "172.21.2.0/23"),
        (
            "{from: 专线网络, source: 0.0.0.0, to: 政务外网区, target: 172.21.0.111, port: TCP3306}",
            "0.0.0.0",
        ),
    ],
    ids=["/23", "adjacent-/24s", "range", "any"],
)
def test_wide_source_fails(repo, row, words):
    repo.policy([NORMAL_ROW, row])
    found, _ = mine(repo, "CG305")
    (f,) = found
    assert f.severity is Severity.ERROR
    assert f.line == repo.line("network.yaml", row[:50])
    text = (repo.root / "network.yaml").read_text("utf-8").splitlines()[f.line - 1]
    assert text[f.column - 1 :].startswith(row.split("source: ")[1].split(",")[0])
    assert words in f.message and "第2行" in f.message and "TCP3306 (MySQL)" in f.message


def test_max_source_prefix_is_read_from_the_list(repo):
    repo.write(
        "high-risk-ports.yaml", HRP.replace("max_source_prefix: 24", "max_source_prefix: 28")
    )
    repo.policy([HR_ROW])
    (f,) = mine(repo, "CG305")[0]
    assert "/28" in f.message


# --------------------------------------------------------------------------- too_wide (the fast CG305 check)


@given(
    st.lists(
        st.tuples(st.integers(0, grammar.MAX_IP), st.integers(0, 1 << 18)), min_size=1, max_size=4
    ),
    st.integers(0, 32),
)
def test_too_wide_agrees_with_fewest_cidrs(spans, prefix):
    ranges = grammar.merge_ranges([(lo, min(grammar.MAX_IP, lo + n)) for lo, n in spans])
    cidrs = grammar.ranges_to_cidrs(ranges)
    assert too_wide(ranges, prefix) == any(int(c.split("/")[1]) < prefix for c in cidrs)
