"""Usage analysis (第十四条): systems far under or near their approved quota, with numbers.

Pure: takes the per-system statistics the collector read. Thresholds have documented
defaults (docs/reports.md) and come from the command line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

GIB = 1024**3
DAY = 86400
UNIT = {"vcpus": 1, "ram_bytes": GIB, "disk_bytes": GIB, "public_ips": 1}


HIGH_SPEED = ("high-speed",)  # the forms' own name of the fast tier (schema: standard|high-speed)


@dataclass(frozen=True)
class Thresholds:
    """``under``: the whole period's maximum utilisation below this is a 调整 candidate;
    ``near``: a maximum at or above this is near the quota; ``headroom``: the proposed
    quota is the period's maximum use plus this share, rounded up to whole units.
    ``off_days``: a server off this long at some sample is "powered off for long";
    ``cold_days``: a high-speed volume not possibly used for this long at the period's
    end, and never in use in it, looks cold (第十八条); ``high_speed``: those tiers."""

    under: float = 0.3
    near: float = 0.9
    headroom: float = 0.2
    off_days: float = 7.0
    cold_days: float = 30.0
    high_speed: tuple[str, ...] = HIGH_SPEED


def proposal(max_used: float, resource: str, headroom: float) -> float:
    """The quota to propose: max use × (1 + headroom) in whole vCPU / GiB / IPs; at least
    one vCPU / GiB (a system that keeps a project keeps something), zero public IPs."""
    unit = UNIT[resource]
    least = 0 if resource == "public_ips" else 1
    return max(least, math.ceil(max_used * (1 + headroom) / unit - 1e-9)) * unit


def analyse(systems: list[dict[str, Any]], th: Thresholds) -> dict[str, list[dict[str, Any]]]:
    under, near = [], []
    for s in systems:
        for res, r in s["resources"].items():
            ap, used, util = r.get("approved"), r.get("used"), r.get("utilisation")
            if not ap or not used or not util or not ap["max"] or math.isnan(util["max"]):
                continue
            row = {
                "system": s["system"],
                "resource": res,
                "approved": ap["max"],
                "used_mean": used["mean"],
                "used_max": used["max"],
                "utilisation_mean": util["mean"],
                "utilisation_max": util["max"],
            }
            if util["max"] < th.under:
                under.append({**row, "proposed": proposal(used["max"], res, th.headroom)})
            elif util["max"] >= th.near:
                near.append({**row, "over": util["max"] > 1})
    under.sort(key=lambda r: (r["utilisation_max"], r["system"], r["resource"]))
    near.sort(key=lambda r: (-r["utilisation_max"], r["system"], r["resource"]))
    return {"under_used": under, "near_quota": near}


def hosts_off(servers: list[dict[str, Any]], th: Thresholds) -> dict[str, Any]:
    """Servers off for at least ``off_days`` at some sample, apart from the ones a
    ShutdownNotice powered off (a decommission: off on purpose, section 七)."""
    long = [
        s
        for s in servers
        if s["longest_off_seconds"] is not None and s["longest_off_seconds"] >= th.off_days * DAY
    ]
    return {
        "hosts": sorted(
            (s for s in long if not s["shutdown_form"]),
            key=lambda s: (-s["longest_off_seconds"], s["system"], s["server"]),
        ),
        "decommissioned": sorted(
            (s for s in long if s["shutdown_form"]), key=lambda s: (s["system"], s["server"])
        ),
    }


def cold_volumes(volumes: list[dict[str, Any]], th: Thresholds) -> list[dict[str, Any]]:
    """High-speed volumes idle for at least ``cold_days`` at the period's end by the
    evidence, and in use at no sample of the period: candidates for file storage."""
    cold = [
        v
        for v in volumes
        if not v["in_use_in_period"]
        and v["idle_seconds"] is not None
        and v["idle_seconds"] >= th.cold_days * DAY
    ]
    return sorted(cold, key=lambda v: (-v["idle_seconds"], v["system"], v["volume"]))
