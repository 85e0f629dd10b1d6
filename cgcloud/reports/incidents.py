"""Alerts that fired → incidents with their 第二十三条 response level and time limit.

The level of an alert comes, in this order, from its ``incident_level`` label, from the
``incident_level`` annotation of its rule (alerts/cgcloud.rules.yml, read back through
Prometheus' rules API), else: ``severity=info`` is a notice, not a fault; any other
cgcloud alert is 三级 (none of them means business is interrupted); an alert of another
source without a level is 未分级 and said so. docs/metrics.md has the table.
"""

from __future__ import annotations

import re
from typing import Any

from cgcloud.i18n import N_, _

LIMITS = {"一级": 3600, "二级": 7200, "三级": 14400}
NOTICE = N_("不计（提示）")
UNCLASSIFIED = N_("未分级")
_LEVEL = re.compile(r"(一级|二级|三级)")


def level_of(labels: dict[str, str], rule: dict[str, Any] | None) -> str:
    """The response level of one alert (一级/二级/三级, 不计（提示）, 未分级)."""
    for text in (
        labels.get("incident_level", ""),
        ((rule or {}).get("annotations") or {}).get("incident_level", ""),
    ):
        m = _LEVEL.search(text)
        if m:
            return m.group(1)
    if labels.get("severity") == "info":
        return NOTICE
    if labels.get("alertname", "").startswith("Cgcloud"):
        return "三级"
    return UNCLASSIFIED


def runs(times: list[float], gap: float) -> list[tuple[float, float]]:
    """Sorted sample times → (first, last) of each run without a break longer than ``gap``."""
    out: list[tuple[float, float]] = []
    for t in sorted(set(times)):
        if out and t - out[-1][1] <= gap:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t, t))
    return out


def incidents(
    samples: dict[tuple[tuple[str, str], ...], list[float]],
    rules: dict[str, dict[str, Any]],
    start: float,
    end: float,
    gap: float,
) -> list[dict[str, Any]]:
    """One incident per run of firing samples of one alert (its label set)."""
    out = []
    for key, times in samples.items():
        labels = dict(key)
        name = labels.get("alertname", "")
        level = level_of(labels, rules.get(name))
        for first, last in runs(times, gap):
            seconds = last - first
            limit = LIMITS.get(level)
            out.append(
                {
                    "alert": name,
                    "level": level,
                    "severity": labels.get("severity", ""),
                    "article": labels.get("article", ""),
                    "subject": labels.get("system")
                    or labels.get("tenant")
                    or labels.get("cloud")
                    or labels.get("instance", ""),
                    "labels": {
                        k: v for k, v in labels.items() if k not in ("alertname", "alertstate")
                    },
                    "start": first,
                    "end": last,
                    "seconds": seconds,
                    "limit_seconds": limit,
                    "within_limit": None if limit is None else seconds <= limit,
                    "needs_incident_report": level in ("一级", "二级"),
                    "started_before_period": first - start <= gap,
                    "ongoing_at_end": end - last <= gap,
                }
            )
    out.sort(key=lambda i: (i["start"], i["alert"], i["subject"]))
    return out


def describe_level(level: str) -> str:
    return _(level) if level in (NOTICE, UNCLASSIFIED) else level
