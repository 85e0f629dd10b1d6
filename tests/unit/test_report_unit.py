"""Pure parts of `cgcloud report`: periods, incident levels and runs, the usage analysis,
the audit log and reclaim records, and the command's usage errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgcloud.cli import app
from cgcloud.reports import analysis, incidents, records
from cgcloud.reports.period import PeriodError, parse_period

GIB = 1024**3


@pytest.mark.parametrize(
    ("text", "first", "last", "kind"),
    [
        ("2027-01-上旬", "2027-01-01", "2027-01-10", "xun"),
        ("2027-01-中旬", "2027-01-11", "2027-01-20", "xun"),
        ("2027-02-下旬", "2027-02-21", "2027-02-28", "xun"),
        ("2028-02-下旬", "2028-02-21", "2028-02-29", "xun"),
        ("2027-01-下旬", "2027-01-21", "2027-01-31", "xun"),
        ("2027-04", "2027-04-01", "2027-04-30", "month"),
        ("2027-H1", "2027-01-01", "2027-06-30", "half"),
        ("2027-H2", "2027-07-01", "2027-12-31", "half"),
    ],
)
def test_periods(text: str, first: str, last: str, kind: str) -> None:
    p = parse_period(text)
    assert (p.first.isoformat(), p.last.isoformat(), p.kind) == (first, last, kind)
    assert p.start.isoformat() == first + "T00:00:00+08:00"
    assert (p.end - p.start).days == (p.last - p.first).days + 1


@pytest.mark.parametrize("text", ["2027-13", "2027-1", "2027-01-末旬", "2027-H3", "27-01", ""])
def test_bad_periods_say_what_is_expected(text: str) -> None:
    with pytest.raises(PeriodError, match="2027-01-上旬"):
        parse_period(text)


def test_level_precedence() -> None:
    rule = {"annotations": {"incident_level": "二级（部分业务受影响）"}}
    assert incidents.level_of({"alertname": "X", "incident_level": "一级"}, rule) == "一级"
    assert incidents.level_of({"alertname": "X", "severity": "critical"}, rule) == "二级"
    assert incidents.level_of({"alertname": "CgcloudX", "severity": "info"}, None) == "不计（提示）"
    assert incidents.level_of({"alertname": "CgcloudX", "severity": "critical"}, None) == "三级"
    assert incidents.level_of({"alertname": "NodeDown", "severity": "critical"}, None) == "未分级"


def test_runs_split_at_gaps() -> None:
    assert incidents.runs([0, 60, 120, 1000, 1060], gap=600) == [(0, 120), (1000, 1060)]
    assert incidents.runs([5], gap=600) == [(5, 5)]


def test_incident_limits_and_reports() -> None:
    key = (("alertname", "Down"), ("incident_level", "二级"), ("severity", "critical"))
    out = incidents.incidents({key: [float(t) for t in range(0, 7261, 60)]}, {}, -1e6, 1e6, 600)
    assert len(out) == 1
    i = out[0]
    assert (i["level"], i["seconds"], i["limit_seconds"]) == ("二级", 7260, 7200)
    assert i["within_limit"] is False and i["needs_incident_report"] is True


def test_proposals_round_up_to_whole_units() -> None:
    assert analysis.proposal(2, "vcpus", 0.2) == 3
    assert analysis.proposal(4 * GIB, "ram_bytes", 0.2) == 5 * GIB
    assert analysis.proposal(5 * GIB, "ram_bytes", 0.2) == 6 * GIB
    assert analysis.proposal(0, "vcpus", 0.2) == 1
    assert analysis.proposal(0, "public_ips", 0.2) == 0


def test_analysis_thresholds() -> None:
    def sys_(name: str, used_max: float, approved: float) -> dict:
        return {
            "system": name,
            "resources": {
                "vcpus": {
                    "approved": {"max": approved, "mean": approved},
                    "used": {"max": used_max, "mean": used_max},
                    "utilisation": {"max": used_max / approved, "mean": used_max / approved},
                }
            },
        }

    out = analysis.analyse(
        [sys_("低", 2, 10), sys_("中", 5, 10), sys_("满", 9, 10), sys_("超", 12, 10)],
        analysis.Thresholds(),
    )
    assert [x["system"] for x in out["under_used"]] == ["低"]
    assert [(x["system"], x["over"]) for x in out["near_quota"]] == [("超", True), ("满", False)]


def test_audit_log_period_and_bad_lines(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    ok = {
        "time": "2027-01-01T00:00:00+08:00",
        "action": "create",
        "result": "done",
        "resource": {"kind": "rule", "system": "甲"},
    }
    log.write_text(
        json.dumps(ok)
        + "\n\nnot json\n"
        + json.dumps({**ok, "time": "2027-02-01T00:00:00+08:00"})
        + "\n",
        encoding="utf-8",
    )
    warnings: list[str] = []
    start = 1798732800.0  # 2027-01-01T00:00+08:00
    got = records.read_audit(log, start, start + 31 * 86400, warnings)
    assert len(got) == 1
    assert warnings == [f"{log}:3: 无法解析的审计日志行，未计入"]
    s = records.summarise_changes(got)
    assert (s["total"], s["rules_opened"], s["by_system"][0]["system"]) == (1, 1, "甲")


def test_missing_files_are_said(tmp_path: Path) -> None:
    warnings: list[str] = []
    assert records.read_audit(tmp_path / "none.jsonl", 0, 1, warnings) == []
    assert records.read_reclaims(tmp_path / "none", 0, 1, warnings) == []
    assert len(warnings) == 2 and "不存在" in warnings[0]


runner = CliRunner()


def test_cli_usage_errors_exit_64() -> None:
    r = runner.invoke(app, ["report", "--period", "2027-13", "--prometheus", "http://127.0.0.1:9"])
    assert r.exit_code == 64 and "无法识别的报告期" in r.output
    r = runner.invoke(app, ["report", "--period", "2027-01", "--prometheus", "127.0.0.1:9090"])
    assert r.exit_code == 64 and "http" in r.output
    r = runner.invoke(
        app,
        ["report", "--period", "2027-01", "--prometheus", "http://127.0.0.1:9", "--format", "xlsx"],
    )
    assert r.exit_code == 64 and "--out" in r.output


def test_cli_unreachable_prometheus_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = runner.invoke(
        app,
        [
            "report",
            "--period",
            "2027-01",
            "--prometheus",
            f"http://127.0.0.1:{port}",
            "--audit-log",
            str(tmp_path / "a"),
            "--records",
            str(tmp_path),
        ],
    )
    assert r.exit_code == 1
    assert "无法连接 Prometheus" in r.output and "Traceback" not in r.output


def test_systems_the_forms_grant_without_data() -> None:
    from cgcloud.reports.build import _without_data
    from cgcloud.schemas import data_dir

    period = parse_period("2027-01")
    warnings: list[str] = []
    assert _without_data([data_dir("policies")], period, [], warnings) == ["智慧城管综合平台"]
    assert (
        _without_data([data_dir("policies")], period, [{"system": "智慧城管综合平台"}], warnings)
        == []
    )
    assert _without_data(None, period, [], warnings) is None


def test_an_unfinished_period_is_said() -> None:
    """A report before the period ended warns that the rest shows as a gap."""
    from datetime import datetime

    from cgcloud.clock import TZ
    from cgcloud.reports.build import build
    from cgcloud.reports.collect import Options

    class Empty:  # a Prometheus with no data at all: pure logic of build()
        url = "http://127.0.0.1:1"
        queries = 0

        def instant(self, expr: str, at: float) -> list:
            return []

        def range(self, expr: str, start: float, end: float, step: float) -> list:
            return []

        def alert_rules(self) -> dict:
            return {}

    r = build(Empty(), parse_period("2027-01"), Options(), datetime(2027, 1, 15, tzinfo=TZ))  # type: ignore[arg-type]
    assert any("报告期尚未结束" in w for w in r["warnings"])
    assert r["coverage"]["gaps"][0]["seconds"] == 31 * 86400  # no sample at all: one gap
    assert r["systems"] == [] and r["incidents"] == []
    from cgcloud.reports import html, markdown

    assert "数据缺口" in markdown.render(r, None)
    assert html.render(r).count("<svg") == 6


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999", "http://127.0.0.1:0", "http://", "http://h:abc"]
)
def test_a_prometheus_url_that_cannot_be_one_is_a_usage_error(url: str) -> None:
    r = runner.invoke(app, ["report", "--period", "2027-01", "--prometheus", url])
    assert r.exit_code == 64, r.output
