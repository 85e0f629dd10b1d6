"""Generate the Grafana dashboards from code (grafana-foundation-sdk, pinned in the dev extra).

    python dashboards/build.py           # rewrite dashboards/*.json
    python dashboards/build.py --check   # exit 1 when the committed JSON is stale

Three dashboards: the overview (compliance first — overdue rules, exposures,
drift — then usage), the per-system view (approved vs used, rules with their
windows, decommission timeline) and the expiry calendar of high-risk windows.
Every panel query is a PromQL expression over the metrics in docs/metrics.md;
tests/unit/test_dashboards.py checks each one with `promtool check rules`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import dashboard as model

HERE = Path(__file__).resolve().parent
DS = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
DAY = 86400


def _q(
    expr: str, legend: str = "", instant: bool = False, table_fmt: bool = False, ref: str = "A"
) -> prom.Dataquery:
    q = prom.Dataquery().expr(expr).datasource(DS).ref_id(ref)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant()
    if table_fmt:
        q = q.format(model_prom_format_table())
    return q


def model_prom_format_table() -> Any:
    from grafana_foundation_sdk.models import prometheus as pm

    return pm.PromQueryFormat.TABLE


def _thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=v, color=c) for v, c in steps])
    )


RED_IF_ANY = _thresholds((None, "green"), (1, "red"))


def _stat(
    title: str,
    expr: str,
    desc: str,
    unit: str = "none",
    w: int = 6,
    thr: dash.ThresholdsConfig = RED_IF_ANY,
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(desc)
        .datasource(DS)
        .with_target(_q(expr, instant=True))
        .unit(unit)
        .thresholds(thr)
        .span(w)
        .height(4)
    )


def _table(
    title: str, expr: str, desc: str, w: int = 24, h: int = 8, unit: str = "none"
) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(desc)
        .datasource(DS)
        .with_target(_q(expr, instant=True, table_fmt=True))
        .unit(unit)
        .span(w)
        .height(h)
    )


def _series(
    title: str,
    targets: list[tuple[str, str]],
    desc: str,
    unit: str = "none",
    w: int = 12,
    h: int = 8,
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(desc).datasource(DS).unit(unit)
    for i, (expr, legend) in enumerate(targets):
        panel = panel.with_target(_q(expr, legend, ref=chr(ord("A") + i)))
    return panel.span(w).height(h)


def _base(uid: str, title: str, desc: str, time_from: str = "now-7d") -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(desc)
        .tags(["cgcloud", "compliance"])
        .timezone("Asia/Shanghai")
        .refresh("1m")
        .time(time_from, "now")
        .readonly()
        .with_variable(dash.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )


def overview() -> dash.Dashboard:
    d = _base(
        "cgcloud-overview",
        "cgcloud — overview",
        "Compliance first (overdue rules, SSH/RDP exposures, drift), then usage. "
        "Metrics: docs/metrics.md.",
    )
    d = d.with_row(dash.Row("合规 Compliance"))
    d = d.with_panel(
        _stat(
            "高危规则超期开放 High-risk rules past window",
            'sum(cgcloud_rules_open_past_window{high_risk="true"}) or vector(0)',
            "Live high-risk rules whose window ended (must be 0; 第十三条).",
        )
    )
    d = d.with_panel(
        _stat(
            "规则超期开放 All rules past window",
            "sum(cgcloud_rules_open_past_window) or vector(0)",
            "Live cgcloud rules whose window ended, high-risk or not (must be 0).",
        )
    )
    d = d.with_panel(
        _stat(
            "SSH/RDP 非堡垒机暴露 Exposures",
            "sum(cgcloud_ssh_rdp_exposures) or vector(0)",
            "Ingress rules anywhere in the cloud opening SSH/RDP from a non-bastion (第十九条).",
        )
    )
    d = d.with_panel(
        _stat(
            "漂移 Drift (changes apply would make)",
            "sum(cgcloud_drift_changes) or vector(0)",
            "Changes `cgcloud apply` would make now.",
            thr=_thresholds((None, "green"), (1, "orange")),
        )
    )
    d = d.with_panel(
        _table(
            "超期开放的规则 Rules past their window",
            "cgcloud_rule_window_end_timestamp_seconds <= on(job, instance) group_left() "
            "cgcloud_exporter_clock_timestamp_seconds",
            "Each live rule whose window end has passed, by system, form, row and port.",
            w=12,
            unit="dateTimeAsIso",
        )
    )
    d = d.with_panel(
        _table(
            "SSH/RDP 暴露 Exposures by project",
            "cgcloud_ssh_rdp_exposures > 0",
            "Projects with SSH/RDP open from a non-bastion address; managed=false groups are "
            "not cgcloud's (fix by hand).",
            w=12,
        )
    )
    d = d.with_panel(
        _stat(
            "待解析占位主机 Pending placeholders",
            "sum(cgcloud_pending_placeholders) or vector(0)",
            "Placeholders no port is tagged with yet.",
            thr=_thresholds((None, "green"), (1, "yellow")),
        )
    )
    d = d.with_panel(
        _stat(
            "审批过期 Lapsed approvals",
            "sum(cgcloud_approval_lapsed) or vector(0)",
            "Managed projects without an approved form for this year (续期或关停).",
            thr=_thresholds((None, "green"), (1, "yellow")),
        )
    )
    d = d.with_panel(
        _stat(
            "校验错误 Validation errors",
            'sum(cgcloud_validation_findings{severity="error"})',
            "`cgcloud validate` errors in the watched repository (apply refuses while > 0).",
        )
    )
    d = d.with_panel(
        _stat(
            "enforce 距上次成功 Since last enforce",
            'time() - max(cgcloud_last_success_timestamp_seconds{command="enforce"})',
            "Wall time since the last successful `cgcloud enforce` (its --textfile).",
            unit="s",
            thr=_thresholds((None, "green"), (3600, "orange"), (7200, "red")),
        )
    )
    d = d.with_row(dash.Row("用量 Usage"))
    d = d.with_panel(
        _series(
            "vCPU 批准/使用 Approved vs used",
            [("sum(cgcloud_approved_vcpus)", "approved"), ("sum(cgcloud_used_vcpus)", "used")],
            "All systems, vCPUs.",
        )
    )
    d = d.with_panel(
        _series(
            "内存 批准/使用 Memory",
            [
                ("sum(cgcloud_approved_ram_bytes)", "approved"),
                ("sum(cgcloud_used_ram_bytes)", "used"),
            ],
            "All systems.",
            unit="bytes",
        )
    )
    d = d.with_panel(
        _series(
            "存储 批准/使用 Disk",
            [
                ("sum(cgcloud_approved_disk_bytes)", "approved"),
                ("sum(cgcloud_used_disk_bytes)", "used"),
            ],
            "System disks + volumes.",
            unit="bytes",
        )
    )
    d = d.with_panel(
        _series(
            "公网IP 批准/使用 Public IPs",
            [
                ("sum(cgcloud_approved_public_ips)", "approved"),
                ("sum(cgcloud_used_public_ips)", "used"),
            ],
            "Floating IPs.",
        )
    )
    d = d.with_panel(
        bargauge.Panel()
        .title("利用率最高的系统 Top utilisation")
        .datasource(DS)
        .description("Used / approved per system and resource; above 100% = more than approved.")
        .with_target(
            _q("topk(15, cgcloud_quota_utilization_ratio)", "{{system}} {{resource}}", instant=True)
        )
        .unit("percentunit")
        .min(0)
        .max(1.2)
        .thresholds(_thresholds((None, "green"), (0.8, "orange"), (1.0001, "red")))
        .span(24)
        .height(8)
    )
    d = d.with_row(dash.Row("运行 Operations"))
    d = d.with_panel(
        _series(
            "exporter 刷新耗时 Refresh duration",
            [("cgcloud_exporter_refresh_duration_seconds", "{{instance}}")],
            "How long a snapshot refresh takes (scrapes never wait for it).",
            unit="s",
        )
    )
    d = d.with_panel(
        _series(
            "最近运行 Last runs (API requests)",
            [
                ("cgcloud_last_run_api_requests", "{{command}} {{cloud}}"),
                ("cgcloud_last_run_api_errors", "{{command}} errors"),
            ],
            "From `apply/enforce --textfile`.",
        )
    )
    return d


def per_system() -> dash.Dashboard:
    sel = 'system="$system"'
    d = _base(
        "cgcloud-system",
        "cgcloud — system",
        "One system: approved vs used, its rules with their windows, its decommission.",
    )
    d = d.with_variable(
        dash.QueryVariable("system")
        .label("系统 System")
        .datasource(DS)
        .query("label_values(cgcloud_approved_vcpus, system)")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
    )
    d = d.with_row(dash.Row("批准与使用 Approved vs used"))
    for res, unit, title in (
        ("vcpus", "none", "vCPU"),
        ("ram_bytes", "bytes", "内存 Memory"),
        ("disk_bytes", "bytes", "存储 Disk"),
        ("public_ips", "none", "公网IP Public IPs"),
    ):
        d = d.with_panel(
            _series(
                title,
                [
                    (f"cgcloud_approved_{res}{{{sel}}}", "approved"),
                    (f"cgcloud_used_{res}{{{sel}}}", "used"),
                ],
                f"Approved this year vs in use ({res}).",
                unit=unit,
                w=6,
            )
        )
    d = d.with_row(dash.Row("存储层级与电源 Storage tiers and power (第十八条)"))
    d = d.with_panel(
        _series(
            "按存储层级 Disk per tier",
            [
                (f"cgcloud_approved_disk_tier_bytes{{{sel}}}", "approved {{tier}}"),
                (f"cgcloud_used_disk_tier_bytes{{{sel}}}", "used {{tier}}"),
            ],
            "Volumes by volume type, servers' root disks as system_disk.",
            unit="bytes",
        )
    )
    d = d.with_panel(
        _table(
            "关机的云主机 Servers off",
            f"cgcloud_server_powered_off_seconds{{{sel}}} > 0",
            "Off for at least this long (since the server's last record change); "
            "shutdown_form = a decommission.",
            w=6,
            unit="s",
        )
    )
    d = d.with_panel(
        _table(
            "闲置的云硬盘 Idle volumes",
            f"cgcloud_volume_idle_seconds{{{sel}}} > 0",
            "Could not have been used for this long (evidence, not I/O: docs/metrics.md).",
            w=6,
            unit="s",
        )
    )
    d = d.with_row(dash.Row("规则与使用期 Rules and windows"))
    d = d.with_panel(
        _table(
            "生效规则的使用期结束时间 Rule windows",
            f"cgcloud_rule_window_end_timestamp_seconds{{{sel}}}",
            "Every live rule of the system: form, row, port, high-risk, and when its window ends.",
            unit="dateTimeAsIso",
            h=10,
        )
    )
    d = d.with_panel(
        _table(
            "剩余天数 Days left per rule",
            f"(cgcloud_rule_window_end_timestamp_seconds{{{sel}}} - on(job, instance) group_left() "
            f"cgcloud_exporter_clock_timestamp_seconds) / {DAY}",
            "Negative = open past its window.",
            unit="d",
            w=12,
        )
    )
    d = d.with_panel(
        _stat(
            "超期开放 Past window",
            f"sum(cgcloud_rules_open_past_window{{{sel}}}) or vector(0)",
            "Must be 0.",
            w=6,
        )
    )
    d = d.with_panel(
        _stat(
            "漂移 Drift",
            f"sum(cgcloud_drift_changes{{{sel}}}) or vector(0)",
            "Changes apply would make.",
            w=6,
            thr=_thresholds((None, "green"), (1, "orange")),
        )
    )
    d = d.with_row(dash.Row("关停 Decommission"))
    d = d.with_panel(
        timeseries.Panel()
        .title("关停阶段 Stage")
        .datasource(DS)
        .description(
            "scheduled → awaiting_confirmation → power_off_due → powered_off → "
            "deletion_due → reclaimed"
        )
        .with_target(_q(f"cgcloud_decommission_stage{{{sel}}} == 1", "{{form}} {{stage}}"))
        .span(12)
        .height(8)
    )
    d = d.with_panel(
        _table(
            "删除到期时间 Deletion due",
            f"cgcloud_decommission_deletion_due_timestamp_seconds{{{sel}}}",
            "Seven full days after the recorded power-off.",
            w=6,
            unit="dateTimeAsIso",
        )
    )
    d = d.with_panel(
        _table(
            "剩余主机 Hosts left",
            f"cgcloud_decommission_hosts_remaining{{{sel}}}",
            "Listed hosts still in the cloud, running or stopped.",
            w=6,
        )
    )
    return d


def expiry_calendar() -> dash.Dashboard:
    d = _base(
        "cgcloud-expiry",
        "cgcloud — high-risk window calendar",
        "When each high-risk rule's window ends (like certificate expiry).",
        time_from="now-30d",
    )
    d = d.with_panel(
        _stat(
            "7 天内到期 Ending within 7 days",
            f'count((cgcloud_rule_window_end_timestamp_seconds{{high_risk="true"}} - on(job, instance) '
            f"group_left() cgcloud_exporter_clock_timestamp_seconds) < 7 * {DAY} > 0) or vector(0)",
            "High-risk rules whose window ends within a week.",
            thr=_thresholds((None, "green"), (1, "yellow")),
            w=8,
        )
    )
    d = d.with_panel(
        _stat(
            "已超期 Already past",
            'sum(cgcloud_rules_open_past_window{high_risk="true"}) or vector(0)',
            "Must be 0.",
            w=8,
        )
    )
    d = d.with_panel(
        _stat(
            "生效的高危规则 Live high-risk rows",
            'count(cgcloud_rule_window_end_timestamp_seconds{high_risk="true"}) or vector(0)',
            "Form rows with a live high-risk rule.",
            thr=_thresholds((None, "blue")),
            w=8,
        )
    )
    d = d.with_panel(
        bargauge.Panel()
        .title("剩余天数 Days left (high-risk)")
        .datasource(DS)
        .description("Days until each high-risk window ends; red below 3 days, negative = past.")
        .with_target(
            _q(
                f'sort((cgcloud_rule_window_end_timestamp_seconds{{high_risk="true"}} - on(job, instance) '
                f"group_left() cgcloud_exporter_clock_timestamp_seconds) / {DAY})",
                "{{system}} {{form}} 第{{row}}行 {{port}}",
                instant=True,
            )
        )
        .unit("d")
        .min(0)
        .max(31)
        .thresholds(_thresholds((None, "red"), (3, "orange"), (7, "green")))
        .span(24)
        .height(12)
    )
    d = d.with_panel(
        _table(
            "日历 Calendar",
            'sort(cgcloud_rule_window_end_timestamp_seconds{high_risk="true"})',
            "Window end of every live high-risk rule, soonest first.",
            unit="dateTimeAsIso",
            h=10,
        )
    )
    return d


DASHBOARDS: dict[str, Callable[[], dash.Dashboard]] = {
    "cgcloud-overview.json": overview,
    "cgcloud-system.json": per_system,
    "cgcloud-expiry.json": expiry_calendar,
}


def render(builder: dash.Dashboard) -> str:
    built = builder.build()
    for i, panel in enumerate(built.panels or [], start=1):
        panel.id_val = i  # stable ids: Grafana links and the staleness test rely on them
    # canonical form: what the SDK's dashboard model reads back (its defaults filled in),
    # so the committed JSON round-trips exactly (tests/prometheus/test_dashboards.py)
    register_default_plugins()
    canonical = model.Dashboard.from_json(json.loads(json.dumps(built, cls=JSONEncoder)))
    return (
        json.dumps(canonical, cls=JSONEncoder, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    )


def exprs(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of a dashboard's JSON."""
    out = []
    for panel in data.get("panels", []):
        for t in panel.get("targets") or []:
            if "expr" in t:
                out.append((panel.get("title", ""), t["expr"]))
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, fn in DASHBOARDS.items():
        text = render(fn())
        path = HERE / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)} — run: python dashboards/build.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
