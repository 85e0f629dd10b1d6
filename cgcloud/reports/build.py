"""Assemble one report as plain JSON-safe data: the single source every format renders."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cgcloud import __version__
from cgcloud.i18n import _
from cgcloud.reports import analysis, records
from cgcloud.reports.collect import Collector, Options, iso
from cgcloud.reports.period import Period
from cgcloud.reports.prom import Prometheus

FORMAT = "cgcloud-report/v1"


def build(
    prom: Prometheus,
    period: Period,
    opts: Options,
    now: datetime,
    policies: list[Path] | None = None,
) -> dict[str, Any]:
    c = Collector(prom, period, opts)
    warnings: list[str] = []
    if now < period.end:
        warnings.append(
            _("报告期尚未结束：{now} 之后没有数据，统计只到此刻，之后的时段显示为缺口").format(
                now=now.isoformat(timespec="seconds")
            )
        )
    coverage = c.coverage()
    systems, totals, charts = c.usage()
    top = _top(systems, opts.top)
    audit = records.read_audit(opts.audit_log, c.start, c.end, warnings)
    th = opts.thresholds
    servers, volumes = c.servers(), c.volumes(th.high_speed)
    report = {
        "format": FORMAT,
        "version": __version__,
        "generated_at": now.isoformat(timespec="seconds"),
        "prometheus": prom.url,
        "period": {
            "label": period.label,
            "kind": period.kind,
            "title": period.title,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "first_day": period.first.isoformat(),
            "last_day": period.last.isoformat(),
        },
        "coverage": {
            **coverage,
            "gaps": [
                {**g, "start": iso(g["start"]), "end": iso(g["end"])} for g in coverage["gaps"]
            ],
        },
        "systems": systems,
        "totals": totals,
        "top": top,
        "charts": c.utilisation_charts(charts, [s["system"] for s in top]),
        "changes": records.summarise_changes(audit),
        "reclaims": records.read_reclaims(opts.records_dir, c.start, c.end, warnings),
        "compliance": c.compliance(),
        "incidents": [{**i, "start": iso(i["start"]), "end": iso(i["end"])} for i in c.alerts()],
        "analysis": analysis.analyse(systems, th),
        "storage": {
            "tiers": c.tiers(),
            "servers": servers,
            "hosts_off": analysis.hosts_off(servers, th),
            "high_speed_volumes": volumes,
            "cold_volumes": analysis.cold_volumes(volumes["rows"], th),
        },
        "thresholds": {
            "under": th.under,
            "near": th.near,
            "headroom": th.headroom,
            "off_days": th.off_days,
            "cold_days": th.cold_days,
            "high_speed_tiers": list(th.high_speed),
            "gap_seconds": opts.gap_seconds,
            "top": opts.top,
        },
        "systems_without_data": _without_data(policies, period, systems, warnings),
        "warnings": warnings,
        "queries": prom.queries,
        "query_splits": c.splits,
    }
    c.pool.shutdown()
    return clean(report)


def _without_data(
    policies: list[Path] | None,
    period: Period,
    systems: list[dict[str, Any]],
    warnings: list[str],
) -> list[str] | None:
    """Systems the forms grant at the period's last moment that have no usage samples."""
    if not policies:
        return None
    from cgcloud import desired
    from cgcloud.findings import Severity
    from cgcloud.validate import validate

    v = validate(policies, period.end - timedelta(seconds=1))
    errors = [f for f in v.findings if f.severity is Severity.ERROR]
    if errors:
        warnings.append(
            _("表单仓库有 {n} 个校验错误，按可读的表单列出无数据的系统").format(n=len(errors))
        )
    try:
        state = desired.compile(v.repo, period.end - timedelta(seconds=1))
    except Exception as exc:  # noqa: BLE001 - a broken repository must not stop the report
        warnings.append(_("无法从表单仓库得出系统清单: {e}").format(e=exc))
        return None
    seen = {s["system"] for s in systems}
    return sorted({p.system for p in state.projects} - seen)


def _top(systems: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The N systems with the highest maximum utilisation of any resource."""

    def peak(s: dict[str, Any]) -> float:
        vals = [
            r["utilisation"]["max"]
            for r in s["resources"].values()
            if r.get("utilisation") and not math.isnan(r["utilisation"]["max"])
        ]
        return max(vals, default=-1.0)

    ranked = sorted(systems, key=lambda s: (-peak(s), s["system"]))[:n]
    return [{"system": s["system"], "peak_utilisation": peak(s)} for s in ranked if peak(s) >= 0]


def clean(x: Any) -> Any:
    """NaN/±Inf → None so the JSON is valid; tuples → lists."""
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    return x
