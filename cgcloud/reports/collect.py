"""Everything a report shows, read from Prometheus and cgcloud's files into plain data.

Period statistics are computed by Prometheus over the raw samples (``min_over_time``,
``max_over_time``, ``sum_over_time``/``count_over_time`` for an exact mean), never
from resampled points, so a gap lowers the sample count and nothing is interpolated.
A query the server refuses as too large is split into more sub-periods and combined.
"""

from __future__ import annotations

import math
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cgcloud.clock import TZ
from cgcloud.reports import analysis, incidents
from cgcloud.reports.period import Period
from cgcloud.reports.prom import Prometheus, TooManySamples

RESOURCES = ("vcpus", "ram_bytes", "disk_bytes", "public_ips")
PRESENCE = "cgcloud_exporter_clock_timestamp_seconds"
STATS = ("min", "max", "sum", "count")
NICE_STEPS = (300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
Key = tuple[tuple[str, str], ...]


@dataclass
class Options:
    """What to read besides Prometheus, and the documented thresholds (docs/reports.md)."""

    audit_log: Path | None = None
    records_dir: Path | None = None
    gap_seconds: float = 600.0
    top: int = 10
    chart_points: int = 300
    parallel: int = 4
    thresholds: analysis.Thresholds = analysis.Thresholds()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, TZ).isoformat(timespec="seconds")


def _num(v: str) -> float:
    return float(v)  # Prometheus' "+Inf"/"NaN" parse too


def _key(metric: dict[str, str], keep: tuple[str, ...] | None) -> Key:
    if keep is None:
        return tuple(sorted((k, v) for k, v in metric.items() if k != "__name__"))
    return tuple((k, metric.get(k, "")) for k in keep)


class Collector:
    """Reads one period; ``splits`` grows when Prometheus refuses a query as too big."""

    def __init__(self, prom: Prometheus, period: Period, opts: Options):
        self.prom, self.period, self.opts = prom, period, opts
        self.start, self.end = period.start.timestamp(), period.end.timestamp()
        self.splits = 1
        # independent queries run in parallel: Prometheus evaluates each on its own core
        self.pool = ThreadPoolExecutor(max_workers=opts.parallel)

    # -- period statistics over raw samples ------------------------------------------
    def _chunks(self) -> list[tuple[float, float]]:
        n, span = self.splits, self.end - self.start
        edges = [self.start + span * i / n for i in range(n + 1)]
        return list(zip(edges, edges[1:], strict=False))

    def over(
        self, func: str, selector: str, keep: tuple[str, ...] | None = None, sub_step: float = 0
    ) -> dict[Key, float]:
        """``func_over_time(selector[period])`` per series, in sub-periods when needed.

        Each sub-period is evaluated 1 ms before its end over exactly its length, so a
        sample at a boundary belongs to one sub-period (the later one).
        """
        while True:
            try:
                acc: dict[Key, float] = {}
                for a, b in self._chunks():
                    ms = round((b - a) * 1000)
                    expr = (
                        f"{func}_over_time(({selector})[{ms}ms:{sub_step:g}s])"
                        if sub_step
                        else f"{func}_over_time({selector}[{ms}ms])"
                    )
                    for r in self.prom.instant(expr, b - 0.001):
                        k, v = _key(r["metric"], keep), _num(r["value"][1])
                        if k not in acc:
                            acc[k] = v
                        elif func in ("sum", "count"):
                            acc[k] += v
                        elif func == "min":
                            acc[k] = min(acc[k], v)
                        elif func == "max":
                            acc[k] = max(acc[k], v)
                        else:  # last
                            acc[k] = v
                return acc
            except TooManySamples:
                if self.splits >= 4096:
                    raise
                self.splits *= 2

    def stats(
        self, selector: str, keep: tuple[str, ...], funcs: tuple[str, ...] = STATS
    ) -> dict[Key, dict[str, float]]:
        """min / mean / max / samples per series (mean = sum / count over raw samples)."""
        got = dict(
            zip(funcs, self.pool.map(lambda f: self.over(f, selector, keep), funcs), strict=True)
        )
        return _combine(got)

    def raw_times(self, selector: str) -> dict[Key, list[float]]:
        """Timestamps of every raw sample per series (range-vector instant queries)."""
        out: dict[Key, list[float]] = defaultdict(list)
        for a, b in self._chunks_for_raw():
            ms = round((b - a) * 1000)
            for r in self.prom.instant(f"{selector}[{ms}ms]", b - 0.001):
                out[_key(r["metric"], None)].extend(float(t) for t, _v in r["values"])
        return out

    def _chunks_for_raw(self) -> list[tuple[float, float]]:
        day10 = 10 * 86400
        n = max(self.splits, math.ceil((self.end - self.start) / day10))
        span = self.end - self.start
        edges = [self.start + span * i / n for i in range(n + 1)]
        return list(zip(edges, edges[1:], strict=False))

    # -- sections ----------------------------------------------------------------------
    def coverage(self) -> dict[str, Any]:
        """Where the exporter's samples are missing (exporter or Prometheus down)."""
        per_series = self.raw_times(PRESENCE)
        times = sorted({t for ts in per_series.values() for t in ts})
        g = self.opts.gap_seconds
        gaps = []
        prev = self.start
        for t in [*times, self.end]:
            if t - prev > g:
                gaps.append({"start": prev, "end": t, "seconds": t - prev})
            prev = t
        missing = sum(x["seconds"] for x in gaps)
        return {
            "gap_threshold_seconds": g,
            "samples": len(times),
            "gaps": gaps,
            "missing_seconds": missing,
            "covered_ratio": 1 - missing / (self.end - self.start),
        }

    def usage(self) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        """Per system and resource: approved, used (min / mean / max) and utilisation
        (mean = used mean / approved mean; max = the ratio's maximum at any sample)."""
        keep = ("system", "tenant", "tenant_id")
        jobs = [(f"cgcloud_used_{r}", f) for r in RESOURCES for f in STATS]
        jobs += [(f"cgcloud_approved_{r}", f) for r in RESOURCES for f in ("max", "sum", "count")]
        results = list(self.pool.map(lambda j: self.over(j[1], j[0], keep), jobs))
        ratio_max = self.over("max", "cgcloud_quota_utilization_ratio", (*keep, "resource"))
        by: dict[str, dict[str, dict[Key, float]]] = defaultdict(dict)
        for (sel, f), res in zip(jobs, results, strict=True):
            by[sel][f] = res
        systems: dict[Key, dict[str, Any]] = {}
        for r in RESOURCES:
            used, appr = _combine(by[f"cgcloud_used_{r}"]), _combine(by[f"cgcloud_approved_{r}"])
            for k in used.keys() | appr.keys():
                row = systems.setdefault(k, {**dict(k), "resources": {}})
                u, a = used.get(k), appr.get(k)
                peak = ratio_max.get((*k, ("resource", r)))
                row["resources"][r] = {
                    "approved": a,
                    "used": u,
                    "utilisation": None
                    if u is None or a is None or peak is None
                    else {
                        "mean": u["mean"] / a["mean"] if a["mean"] else math.inf,
                        "max": peak,
                    },
                }
        rows = sorted(systems.values(), key=lambda s: (s["system"], s["tenant_id"]))
        totals, charts = self._totals(rows)
        return rows, totals, charts

    def _totals(self, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sums over systems. The mean is Σ of the systems' means (exact); min / max are of
        the total's per-chart-step means (one range query per resource and kind)."""
        exprs = [
            f"sum(avg_over_time(cgcloud_{kind}_{r}[{{step}}]))"
            for r in RESOURCES
            for kind in ("used", "approved")
        ]
        series = list(self.pool.map(lambda e: self.series(e, ()), exprs))
        totals, charts = {}, {}
        for i, r in enumerate(RESOURCES):
            used_s, appr_s = series[2 * i], series[2 * i + 1]
            out: dict[str, Any] = {}
            for kind, s in (("used", used_s), ("approved", appr_s)):
                pts = [v for line in s["lines"].values() for v in line if v is not None]
                means = [
                    x["resources"][r][kind]["mean"]
                    for x in rows
                    if (x["resources"].get(r) or {}).get(kind)
                ]
                out[kind] = {
                    "mean": sum(means),
                    "min": min(pts, default=math.nan),
                    "max": max(pts, default=math.nan),
                }
            ua, aa = out["used"]["mean"], out["approved"]["mean"]
            out["utilisation_mean"] = ua / aa if aa else None
            totals[r] = out
            u_line = next(iter(used_s["lines"].values()), [None] * len(used_s["times"]))
            a_line = next(iter(appr_s["lines"].values()), [None] * len(used_s["times"]))
            charts[r] = {
                "step": used_s["step"],
                "times": used_s["times"],
                "total": [
                    u / a if u is not None and a else None
                    for u, a in zip(u_line, a_line, strict=True)
                ],
                "systems": {},
            }
        return totals, charts

    def _sub_step(self) -> float:
        return max(60.0, self.opts.gap_seconds / 2)

    def chart_step(self) -> float:
        """The smallest round step that keeps a chart within ``chart_points`` points."""
        raw = (self.end - self.start) / self.opts.chart_points
        return float(next((s for s in NICE_STEPS if s >= raw), math.ceil(raw / 86400) * 86400))

    def series(self, expr_bucket: str, keep: tuple[str, ...] | None) -> dict[str, Any]:
        """``expr_bucket`` (with ``{step}``) every chart step; missing steps are None."""
        step = self.chart_step()
        times = [self.start + step * i for i in range(1, int((self.end - self.start) // step) + 1)]
        # a bucket is (t - step, t] whether the server's ranges are closed (2.x) or
        # left-open (3.x): its range is 1 ms shorter than the step
        bucket = f"{round(step * 1000) - 1}ms"
        res = self.prom.range(expr_bucket.format(step=bucket), times[0], times[-1], step)
        out: dict[str, Any] = {"step": step, "times": times, "lines": {}}
        index = {round(t): i for i, t in enumerate(times)}
        for r in res:
            vals: list[float | None] = [None] * len(times)
            for t, v in r["values"]:
                i = index.get(round(float(t)))
                if i is not None:
                    f = _num(v)
                    vals[i] = None if math.isinf(f) or math.isnan(f) else f
            name = " ".join(v for _k, v in _key(r["metric"], keep)) or "total"
            out["lines"][name] = vals
        return out

    def utilisation_charts(self, charts: dict[str, Any], top: list[str]) -> dict[str, Any]:
        """Add the top systems' utilisation lines to the totals' charts."""
        if not top:
            return charts
        sel = "|".join(_re_escape(s) for s in top)
        exprs = [
            f"avg by (system) (avg_over_time(cgcloud_quota_utilization_ratio"
            f'{{{{resource="{r}",system=~"{sel}"}}}}[{{step}}]))'
            for r in RESOURCES
        ]
        for r, per in zip(
            RESOURCES, self.pool.map(lambda e: self.series(e, ("system",)), exprs), strict=True
        ):
            charts[r]["systems"].update(per["lines"])
        return charts

    def alerts(self) -> list[dict[str, Any]]:
        samples = self.raw_times('ALERTS{alertstate="firing"}')
        rules = self.prom.alert_rules() if samples else {}
        return incidents.incidents(samples, rules, self.start, self.end, self.opts.gap_seconds)

    def compliance(self) -> dict[str, Any]:
        lapsed = self.over("max", "cgcloud_approval_lapsed", ("system", "tenant"))
        windows = self.over(
            "max",
            'cgcloud_rule_window_end_timestamp_seconds{high_risk="true"}',
            ("system", "form", "row", "port"),
        )
        past = self.over("max", "cgcloud_rules_open_past_window", ("system", "high_risk"))
        drift = "sum by (system) (cgcloud_drift_changes)"
        drift_max = self.over("max", drift, ("system",), self._sub_step())
        drift_end = self._last(drift, ("system",))
        findings = self.over("max", "cgcloud_validation_findings", ("rule", "severity"))
        stages = self.over("max", "cgcloud_decommission_stage", ("system", "form", "stage"))
        return {
            "lapsed": sorted(dict(k)["system"] for k, v in lapsed.items() if v >= 1),
            "high_risk_windows": sorted(
                ({**dict(k), "window_end": iso(v)} for k, v in windows.items()),
                key=lambda w: (w["system"], w["form"], int(w["row"] or 0), w["port"]),
            ),
            "open_past_window": [{**dict(k), "max": v} for k, v in sorted(past.items()) if v > 0],
            "drift": [
                {
                    "system": dict(k)["system"],
                    "max_changes": v,
                    "at_end": drift_end.get(k),
                    "repaired": drift_end.get(k) == 0,
                }
                for k, v in sorted(drift_max.items())
                if v > 0
            ],
            "validation_max": [{**dict(k), "max": v} for k, v in sorted(findings.items()) if v > 0],
            "validation_chart": self.series(
                "sum by (severity) (max_over_time(cgcloud_validation_findings[{step}]))",
                ("severity",),
            ),
            "decommission_stages": _stages(stages),
        }

    # -- storage tiers, servers' power, volumes (第十八条) ------------------------------
    def tiers(self) -> dict[str, Any]:
        """Approved vs used disk per system and storage tier, and per tier in total (the
        mean is the sum of the systems' means; min / max of the total are not shown: the
        per-system figures are exact)."""
        keep = ("system", "tenant", "tenant_id", "tier")
        used = self.stats("cgcloud_used_disk_tier_bytes", keep)
        appr = self.stats("cgcloud_approved_disk_tier_bytes", keep, ("max", "sum", "count"))
        rows: list[dict[str, Any]] = []
        for k in sorted(used.keys() | appr.keys()):
            u, a = used.get(k), appr.get(k)
            rows.append(
                {
                    **dict(k),
                    "approved": a,
                    "used": u,
                    "utilisation": None
                    if u is None or a is None
                    else {
                        "mean": u["mean"] / a["mean"] if a["mean"] else math.inf,
                        "max": u["max"] / a["max"] if a["max"] else math.inf,
                    },
                }
            )
        totals: dict[str, dict[str, float]] = {}
        for r in rows:
            t = totals.setdefault(r["tier"], {"approved_mean": 0.0, "used_mean": 0.0})
            t["approved_mean"] += (r["approved"] or {}).get("mean", 0.0)
            t["used_mean"] += (r["used"] or {}).get("mean", 0.0)
        for t in totals.values():
            am = t["approved_mean"]
            t["utilisation_mean"] = t["used_mean"] / am if am else math.nan
        return {"rows": rows, "totals": dict(sorted(totals.items()))}

    def servers(self) -> list[dict[str, Any]]:
        """Per server: the longest time off the exporter saw (by the cloud's evidence), the
        share of the period's samples in which it was off, its state at the end."""
        keep = ("system", "tenant_id", "server_id", "server", "shutdown_form")
        on, off = "cgcloud_server_powered_on", "cgcloud_server_powered_off_seconds"
        jobs = [("max", off), ("sum", on), ("count", on)]
        longest, on_sum, count = self.pool.map(lambda j: self.over(j[0], j[1], keep), jobs)
        # the change time at the end is the start of the stretch off for servers off then;
        # the others are read by _off_since
        at_end = self._last(on, keep)
        since = self._last("cgcloud_server_power_changed_timestamp_seconds", keep)
        by: dict[str, dict[str, Any]] = {}
        for k in count.keys() | longest.keys():
            d = dict(k)
            row = by.setdefault(
                d["server_id"],
                {
                    "system": d["system"],
                    "tenant_id": d["tenant_id"],
                    "server_id": d["server_id"],
                    "server": d["server"],
                    "shutdown_form": "",
                    "longest_off_seconds": None,
                    "off_since": None,
                    "samples": 0.0,
                    "off_samples": 0.0,
                    "powered_on_at_end": None,
                },
            )
            row["shutdown_form"] = row["shutdown_form"] or d["shutdown_form"]
            if k in longest and (
                row["longest_off_seconds"] is None or longest[k] > row["longest_off_seconds"]
            ):
                row["longest_off_seconds"] = longest[k]
            row["samples"] += count.get(k, 0.0)
            row["off_samples"] += count.get(k, 0.0) - on_sum.get(k, 0.0)
            if k in at_end:
                row["powered_on_at_end"] = at_end[k] >= 1
                if at_end[k] < 1 and k in since:
                    row["off_since"] = iso(since[k])
        for row in by.values():
            row["off_share"] = row["off_samples"] / row["samples"] if row["samples"] else None
        self._off_since(by, keep)
        return sorted(by.values(), key=lambda r: (r["system"], r["server"], r["server_id"]))

    def _off_since(self, by: dict[str, dict[str, Any]], keep: tuple[str, ...]) -> None:
        """Servers off at some sample but not (known to be) off at the end: the last
        value of the change time is when they came back on, so read its latest value
        while off instead (a subquery over these few servers only)."""
        ids = sorted(
            i for i, r in by.items() if r["off_samples"] > 0 and r["powered_on_at_end"] is not False
        )
        if not ids:
            return
        m = '{server_id=~"' + "|".join(_re_escape(i) for i in ids) + '"}'
        expr = (
            f"cgcloud_server_power_changed_timestamp_seconds{m} "
            f"and cgcloud_server_powered_on{m} == 0"
        )
        for k, v in self.over("max", expr, keep, self._sub_step()).items():
            row = by.get(dict(k)["server_id"])
            if row is not None:
                row["off_since"] = iso(v)

    def volumes(self, tiers: tuple[str, ...]) -> dict[str, Any]:
        """Volumes of ``tiers`` present at the period's end: size, attachments, the last-used
        evidence then, and whether any sample of the period saw them in use."""
        sel = "|".join(_re_escape(t) for t in tiers)
        keep = ("system", "tenant_id", "volume_id", "volume", "tier")
        m = f'{{tier=~"{sel}"}}'
        names = ("size_bytes", "attached_servers", "last_used_timestamp_seconds")
        size, attached, last = self.pool.map(
            lambda n: self._last(f"cgcloud_volume_{n}{m}", keep), names
        )
        in_use = self.over("max", f"cgcloud_volume_in_use{m}", keep)
        rows = [
            {
                **dict(k),
                "size_bytes": v,
                "attached_servers": attached.get(k),
                "in_use_in_period": (in_use.get(k) or 0) >= 1,
                "last_used": iso(last[k]) if k in last else None,
                "idle_seconds": self.end - last[k] if k in last else None,
            }
            for k, v in size.items()
        ]
        return {
            "data_at_end": bool(self._last(PRESENCE, ())),
            "rows": sorted(rows, key=lambda r: (r["system"], r["volume"], r["volume_id"])),
        }

    def _last(self, expr: str, keep: tuple[str, ...]) -> dict[Key, float]:
        """The value of ``expr`` at the end of the period (its last sample within a gap)."""
        ms, step = round(self.opts.gap_seconds * 1000), self._sub_step()
        res = self.prom.instant(f"last_over_time(({expr})[{ms}ms:{step:g}s])", self.end - 0.001)
        return {_key(r["metric"], keep): _num(r["value"][1]) for r in res}


def _combine(got: dict[str, dict[Key, float]]) -> dict[Key, dict[str, float]]:
    """min / max / sum / count results per series → min / mean / max / samples."""
    out = {}
    for k, c in got.get("count", {}).items():
        out[k] = {
            "min": got.get("min", {}).get(k, math.nan),
            "max": got.get("max", {}).get(k, math.nan),
            "mean": got.get("sum", {}).get(k, math.nan) / c if c else math.nan,
            "samples": c,
        }
    return out


def _stages(stages: dict[Key, float]) -> list[dict[str, Any]]:
    order = [
        "scheduled",
        "awaiting_confirmation",
        "power_off_due",
        "powered_off",
        "deletion_due",
        "reclaimed",
    ]
    by: dict[tuple[str, str], list[str]] = defaultdict(list)
    for k, v in stages.items():
        d = dict(k)
        if v >= 1:
            by[(d["system"], d["form"])].append(d["stage"])
    return [
        {
            "system": s,
            "form": f,
            "stages": sorted(st, key=lambda x: order.index(x) if x in order else 99),
        }
        for (s, f), st in sorted(by.items())
    ]


def _re_escape(s: str) -> str:
    """Escape a value for a PromQL regex inside a double-quoted string."""
    out = []
    for ch in s:
        if ch in r".^$*+?()[]{}|\\":
            out.append("\\\\" + ch)
        elif ch == '"':
            out.append('\\"')
        else:
            out.append(ch)
    return "".join(out)
