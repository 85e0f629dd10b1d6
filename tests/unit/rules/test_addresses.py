"""CG101, CG104–CG110: the cells of a network-policy row and their zones."""

from __future__ import annotations

import pytest

from cgcloud.findings import Severity

GOOD = [
    "{from: 政务外网区, source: 172.21.0.111, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
    "{from: 互联网区, source: 172.20.4.111, to: 互联网公网, target: 0.0.0.0, port: /}",
    "{from: 政务外网区, source: 172.21.0.111, to: 政务外网骨干网, target: 0.0.0.0, port: /}",
    "{from: 互联网公网, source: 58.33.33.33-40, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
    "{from: 政务外网骨干网, source: 10.19.0.111, to: 政务外网区, target: 172.21.0.111, port: TCP 9999}",
    '{from: gov, source: 172.21.0.111, to: gov, target: 智慧城管-数据库, port: "UDP500,4500"}',
    "{from: leased, source: 192.168.100.0/22, to: 互联网区, target: 172.20.4.0/24, port: ICMP}",
]
IDS = ("CG101", "CG104", "CG105", "CG106", "CG107", "CG108", "CG109", "CG110")


def only(findings, rule):
    return [f for f in findings if f.rule == rule]


def test_good_rows_pass(policy_repo):
    policy_repo.policy(GOOD)
    found = policy_repo.validate()
    assert [f for f in found if f.rule in IDS] == []


# (rule, row, cell needle) — the finding must point at the line of the row
BAD = [
    (
        "CG101",
        "{from: 政务外网, source: 172.21.0.111, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
        "政务外网,",
    ),
    (
        "CG101",
        "{from: 政务外网区, source: 172.21.0.111, to: DMZ区, target: 172.20.4.111, port: TCP9999}",
        "DMZ区",
    ),
    (
        "CG107",
        "{from: 政务外网区, source: 172.21.0.1/24, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
        "172.21.0.1/24",
    ),
    (
        "CG107",
        "{from: 政务外网区, source: 172.21.0.111, to: 互联网区, target: 172.20.4.300, port: TCP9999}",
        "172.20.4.300",
    ),
    (
        "CG107",
        "{from: 互联网公网, source: 58.33.33.40-33, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
        "58.33.33.40-33",
    ),
    (
        "CG108",
        "{from: 政务外网区, source: 172.21.0.111, to: 互联网区, target: 172.20.4.111, port: HTTPS}",
        "port: HTTPS",
    ),
    (
        "CG108",
        "{from: 政务外网区, source: 172.21.0.111, to: 互联网区, target: 172.20.4.111, port: TCP70000}",
        "TCP70000",
    ),
    (
        "CG104",
        "{from: 政务外网区, source: 172.20.0.111, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
        "source: 172.20.0.111",
    ),
    (
        "CG104",
        "{from: 政务外网区, source: 172.21.255.250-172.22.0.5, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
        "172.22.0.5",
    ),
    (
        "CG104",
        "{from: 政务外网骨干网, source: 11.0.0.1, to: 政务外网区, target: 172.21.0.111, port: TCP9999}",
        "11.0.0.1",
    ),
    (
        "CG104",
        "{from: 专线网络, source: 192.168.104.1, to: 政务外网区, target: 172.21.0.111, port: TCP9999}",
        "192.168.104.1",
    ),
    (
        "CG105",
        "{from: 互联网公网, source: 192.168.1.1, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
        "192.168.1.1",
    ),
    (
        "CG105",
        "{from: 互联网区, source: 172.20.4.111, to: 互联网公网, target: 58.33.33.33、127.0.0.1, port: TCP443}",
        "127.0.0.1",
    ),
    (
        "CG105",
        "{from: 互联网公网, source: 169.254.0.0/16, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
        "169.254.0.0/16",
    ),
    (
        "CG106",
        "{from: 政务外网区, source: 0.0.0.0, to: 互联网区, target: 172.20.4.111, port: TCP9999}",
        "source: 0.0.0.0",
    ),
    (
        "CG106",
        "{from: 互联网公网, source: 58.33.33.33, to: 互联网区, target: 0.0.0.0, port: TCP443}",
        "source: 58.33.33.33, to: 互联网区, target: 0.0.0.0",
    ),
    (
        "CG109",
        "{from: 互联网公网, source: 外部-合作方, to: 互联网区, target: 172.20.4.111, port: TCP443}",
        "外部-合作方",
    ),
    (
        "CG109",
        "{from: 政务外网区, source: 172.21.0.111, to: 专线网络, target: 专线-对端, port: TCP443}",
        "专线-对端",
    ),
]


@pytest.mark.parametrize(("rule", "row", "needle"), BAD, ids=[f"{r}-{n}" for r, _, n in BAD])
def test_bad_row_fails(policy_repo, rule, row, needle):
    rows = [*GOOD, row]
    policy_repo.policy(rows)
    found = policy_repo.validate()
    mine = only(found, rule)
    assert len(mine) == 1, [f"{f.rule} {f.message}" for f in found if f.rule in IDS]
    f = mine[0]
    assert f.severity is Severity.ERROR
    assert f.file.endswith("network.yaml")
    assert f.line == policy_repo.line("network.yaml", needle)
    assert f"第{len(rows)}行" in f.message or rule == "CG110"
    assert f.form == "WL-2026-0031"
    # no other address rule fires on a row that is wrong in exactly one way
    assert {x.rule for x in found if x.rule in IDS} == {rule}


def test_cell_column_points_at_the_cell(policy_repo):
    row = "{from: 政务外网区, source: 172.21.0.1/24, to: 互联网区, target: 172.20.4.111, port: TCP9999}"
    policy_repo.policy([row])
    (f,) = only(policy_repo.validate(), "CG107")
    text = (policy_repo.root / "network.yaml").read_text("utf-8").splitlines()[f.line - 1]
    assert text[f.column - 1 :].startswith("172.21.0.1/24")


def test_placeholder_in_one_system_many_rows_pass(policy_repo):
    row = "{from: gov, source: 172.21.0.111, to: gov, target: 智慧城管-数据库, port: TCP6033}"
    policy_repo.policy([row, row.replace("6033", "6034")])
    policy_repo.policy([row.replace("6033", "6035")], name="network2.yaml", id="WL-2026-0032")
    assert only(policy_repo.validate(), "CG110") == []


def test_placeholder_in_two_systems_fails(policy_repo):
    row = "{from: gov, source: 172.21.0.111, to: gov, target: 智慧城管-数据库, port: TCP6033}"
    policy_repo.policy([row])
    other = "{from: internet, source: 172.20.0.111, to: internet, target: 智慧城管-数据库, port: TCP6033}"
    policy_repo.policy(
        [GOOD[0], other, other.replace("6033", "6034")],
        name="z-other.yaml",
        id="WL-2026-0099",
        system="数字城管二期",
    )
    found = only(policy_repo.validate(), "CG110")
    assert len(found) == 1  # once per (placeholder, second system), at its first row
    f = found[0]
    assert f.severity is Severity.ERROR
    assert f.file.endswith("z-other.yaml")
    assert f.line == policy_repo.line("z-other.yaml", "智慧城管-数据库")
    assert "智慧城管综合平台" in f.message and "数字城管二期" in f.message
    assert f.form == "WL-2026-0099"
