"""Assemble one report as plain JSON-safe data: the single source every format renders."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from cgcloud import __version__
from cgcloud.reports import analysis, records
from cgcloud.reports.collect import Collector, Options, iso
from cgcloud.reports.period import Period
from cgcloud.reports.prom import Prometheus

FORMAT = "cgcloud-report/v1"


def build(prom: Prometheus, period: Period, opts: Options, now: datetime) -> dict[str, Any]:
    c = Collector(prom, period, opts)
    warnings: list[str] = []
    coverage = c.coverage()
    systems, totals = c.usage()
    top = _top(systems, opts.top)
    audit = records.read_audit(opts.audit_log, c.start, c.end, warnings)
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
        "charts": c.utilisation_charts([s["system"] for s in top]),
        "changes": records.summarise_changes(audit),
        "reclaims": records.read_reclaims(opts.records_dir, c.start, c.end, warnings),
        "compliance": c.compliance(),
        "incidents": [{**i, "start": iso(i["start"]), "end": iso(i["end"])} for i in c.alerts()],
        "analysis": analysis.analyse(systems, opts.thresholds),
        "thresholds": {
            "under": opts.thresholds.under,
            "near": opts.thresholds.near,
            "headroom": opts.thresholds.headroom,
            "gap_seconds": opts.gap_seconds,
            "top": opts.top,
        },
        "warnings": warnings,
        "queries": prom.queries,
        "query_splits": c.splits,
    }
    return clean(report)


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
