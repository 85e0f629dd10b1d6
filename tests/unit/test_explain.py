"""``cgcloud explain``: what each form grants, read from the model only."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from cgcloud import clock, explain
from cgcloud.schemas import data_dir
from cgcloud.validate import load_repository

POLICY = """
apiVersion: cgcloud/v1
kind: NetworkPolicy
metadata: {id: WL-T-1, system: 测试系统}
spec:
  applicant: {org: 某某科技有限公司, name: 周九, phone: "13900000000"}
  normal:
    reason: 对外服务
    period: {start: 2026-12-01, end: 2027-11-30}
  high_risk:
    reason: 数据迁移
    period: {start: 2026-12-01, end: 2026-12-31}
  reviewers:
    cloud_resource_manager: {by: 钱七, date: 2026-11-20}
    business_leader:        {by: 王五, date: 2026-11-21}
    cloud_resource_leader:  {by: 吴十, date: 2026-11-22}
  rules:
    - {from: 互联网公网, source: 58.33.33.33-40, to: 互联网区, target: 172.20.4.111, port: TCP9999}
    - {from: 政务外网区, source: 172.21.3.0/24, to: 政务外网区, target: 172.21.4.5, port: "TCP3306,6379"}
    - {from: 互联网区, source: 172.20.0.10, to: 互联网区, target: 172.20.4.111, port: TCP22}
    - {from: 互联网区, source: 172.20.4.111, to: 互联网公网, target: 0.0.0.0, port: /}
    - {from: 政务外网区, source: 172.21.4.7, to: 政务外网区, target: 测试系统-数据库, port: /}
---
apiVersion: cgcloud/v1
kind: NetworkPolicy
metadata: {id: WL-T-2, system: 待审系统}
spec:
  applicant: {org: 某某科技有限公司, name: 周九, phone: "13900000000"}
  normal:
    reason: 旧服务
    period: {start: 2025-01-01, end: 2025-12-31}
  reviewers: {}
  rules:
    - {from: 政务外网区, source: 172.21.9.1, to: 互联网区, target: 172.20.9.1, port: TCP8080}
"""

APPLICATION = """
apiVersion: cgcloud/v1
kind: ResourceApplication
metadata: {id: ZY-T-1, system: 测试系统, department: 市政设施处}
spec:
  type: expand
  year: 2026
  contact: {name: 张三, phone: "027-85551234"}
  reason: 扩容
  resources:
    - {type: server, vcpu: 8, memory_gb: 16, system_disk_gb: 40, count: 3}
    - {type: volume, tier: standard, size_gb: 1000}
    - {type: public_ip, count: 2}
  operators: [{name: 李四, phone: "13800000000"}]
  approvals:
    department: {by: 赵六, date: 2026-11-10, opinion: 同意}
    initial:    {by: 王五, date: 2026-11-11, opinion: 同意}
    recheck:    {by: 钱七, date: 2026-11-12, recommend: formal}
---
apiVersion: cgcloud/v1
kind: ShutdownNotice
metadata: {id: GT-T-1, system: 测试系统}
spec:
  hosts: [172.20.4.21, 172.20.4.22]
  tech_division:     {by: 钱七, date: 2026-11-18}
  business_division: {by: 王五, date: 2026-11-19, shutdown_date: 2026-12-15, prepare_by: 2026-12-14}
  operator:          {by: 李四, date: 2026-11-24, data_copied: false}
---
apiVersion: cgcloud/v1
kind: ProjectApplication
metadata: {id: KT-T-1, project: 测试项目}
spec:
  forms: [ZY-T-1, WL-T-1]
  accounts: [{name: 李四, type: bastion}]
  signoffs:
    integrator: {by: 某某集成公司, date: 2026-11-20}
    supervisor: {by: 某某监理公司, date: 2026-11-21}
"""

NOW = clock.now_local("2026-12-05T10:00")


@pytest.fixture
def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    for name in ("zones.yaml", "high-risk-ports.yaml"):
        shutil.copy(data_dir("policies") / name, tmp_path / name)
    (tmp_path / "policy.yaml").write_text(textwrap.dedent(POLICY).lstrip(), encoding="utf-8")
    (tmp_path / "forms.yaml").write_text(textwrap.dedent(APPLICATION).lstrip(), encoding="utf-8")
    r, findings, _ = load_repository([tmp_path])
    assert not [f for f in findings if f.severity.value == "error"], findings
    return r


def _data(repo, now=NOW):  # type: ignore[no-untyped-def]
    return json.loads(explain.explain(repo, now, "json"))


def _policy(repo, form_id="WL-T-1", now=NOW):  # type: ignore[no-untyped-def]
    return next(p for p in _data(repo, now)["network_policies"] if p["id"] == form_id)


def test_rows_become_fewest_cidrs(repo) -> None:  # type: ignore[no-untyped-def]
    rows = _policy(repo)["rows"]
    assert rows[0]["source"]["cidrs"] == [
        "58.33.33.33/32", "58.33.33.34/31", "58.33.33.36/30", "58.33.33.40/32",
    ]  # fmt: skip
    assert rows[0]["target"]["cidrs"] == ["172.20.4.111/32"]
    assert rows[3]["target"]["any"] is True and rows[3]["target"]["cidrs"] == ["0.0.0.0/0"]
    assert rows[4]["target"]["placeholder"] == "测试系统-数据库"
    text = explain.explain(repo, NOW, "text")
    assert "58.33.33.33-40 → 58.33.33.33/32, 58.33.33.34/31, 58.33.33.36/30, 58.33.33.40/32" in text


def test_high_risk_rows_and_why(repo) -> None:  # type: ignore[no-untyped-def]
    p = _policy(repo)
    kinds = [r["kind"] for r in p["rows"]]
    assert kinds == ["normal", "high_risk", "high_risk", "normal", "high_risk"]
    assert [m["name"] for m in p["rows"][1]["high_risk_matches"]] == ["MySQL", "Redis"]
    assert p["rows"][4]["any_port"] is True
    text = explain.explain(repo, NOW, "text")
    assert "高危（TCP3306 MySQL、TCP6379 Redis）" in text
    assert "端口 / 与高危端口清单全部" in text


def test_windows_active_days_left_and_bastion(repo) -> None:  # type: ignore[no-untyped-def]
    p = _policy(repo)
    high, normal = p["rows"][1]["window"], p["rows"][0]["window"]
    assert (high["start"], high["end"], high["state"], high["days_left"]) == (
        "2026-12-01",
        "2026-12-31",
        "active",
        27,
    )
    assert normal["end"] == "2027-11-30" and normal["state"] == "active"
    assert p["rows"][2]["bastion_only"] and p["rows"][2]["from_bastion"]
    assert p["rows"][4]["bastion_only"] and not p["rows"][4]["from_bastion"]
    assert not p["rows"][0]["bastion_only"]
    later = _policy(repo, now=clock.now_local("2027-01-02"))
    assert later["rows"][1]["window"]["state"] == "past"
    assert (
        later["rows"][0]["window"]["days_left"]
        == (clock.parse_date("2027-11-30") - clock.parse_date("2027-01-02")).days + 1
    )
    earlier = _policy(repo, now=clock.now_local("2026-11-25"))
    assert (
        earlier["rows"][0]["window"]["state"] == "future"
        and earlier["rows"][0]["window"]["starts_in"] == 6
    )


def test_approval_status(repo) -> None:  # type: ignore[no-untyped-def]
    d = _data(repo)
    assert [p["id"] for p in d["network_policies"]] == ["WL-T-2", "WL-T-1"]  # by system name
    first, second = _policy(repo), _policy(repo, "WL-T-2")
    assert first["approved"] and first["pending_projects"] == ["KT-T-1"]
    assert not second["approved"] and second["missing_signatures"] == ["审核人1 云资源管理人"]
    assert second["rows"][0]["window"]["state"] == "past"
    (app,) = d["resource_applications"]
    assert not app["approved"] and app["missing_approvals"] == ["科技处终审"]
    assert app["totals"] == {"vcpu": 24, "memory_gb": 48, "disk_gb": 1120, "public_ip": 2}
    assert app["year"] == 2026 and app["type"] == "expand"


def test_shutdown_lifecycle(repo) -> None:  # type: ignore[no-untyped-def]
    (s,) = _data(repo)["shutdown_notices"]
    # kept the seven full days 12-16 … 12-22, deleted from 12-23 00:00 (cgcloud/lifecycle.py)
    assert s["shutdown_date"] == "2026-12-15" and s["earliest_deletion"] == "2026-12-23"
    assert s["kept_until"] == "2026-12-22" and s["stage"] == "scheduled"
    assert s["state"] == "waiting" and s["days_to_shutdown"] == 10
    later = _data(repo, clock.now_local("2026-12-16"))["shutdown_notices"][0]
    assert later["state"] == "blocked"  # the operator has not confirmed data_copied


def test_project_bundles_and_signoffs(repo) -> None:  # type: ignore[no-untyped-def]
    (pa,) = _data(repo)["project_applications"]
    assert not pa["complete"]
    assert pa["missing_signoffs"] == ["项目管理单位", "云服务单位"]
    assert [(f["id"], f["kind"]) for f in pa["forms"]] == [
        ("ZY-T-1", "ResourceApplication"), ("WL-T-1", "NetworkPolicy"),
    ]  # fmt: skip


def test_markdown_has_headings_and_tables(repo) -> None:  # type: ignore[no-untyped-def]
    md = explain.explain(repo, NOW, "markdown")
    assert md.startswith("# 表单授予的权限")
    assert "### 网络策略备案表 WL-T-1（测试系统）" in md
    assert "| 行 | 方向 | 源地址 | 目标地址 | 端口 | 类型 | 使用期 | 当前 |" in md
    assert "| 2 | 政务外网区 → 政务外网区 |" in md
    assert "## 云主机关停" in md and "保留至 2026-12-22，最早 2026-12-23 00:00 起删除" in md
    assert "会签：未完成（缺少 项目管理单位、云服务单位）" in md


def test_shipped_example_explains(tmp_path: Path) -> None:
    r, _, _ = load_repository([data_dir("policies")])
    text = explain.explain(r, clock.now_local("2026-11-25T10:00"), "text")
    assert "网络策略备案表" in text and "云资源申请" in text


def test_unknown_format() -> None:
    from cgcloud import model

    with pytest.raises(ValueError):
        explain.explain(model.Repository(), NOW, "html")
