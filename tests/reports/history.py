"""A month of known metric history (2027-01, Asia/Shanghai) as OpenMetrics text.

Every number the report tests assert is derived by hand in test_report_prometheus.py
from the constants here; the writer only lays the samples out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
STEP = 900  # one sample every 15 minutes keeps promtool to a few seconds
GIB = 1024**3


def at(day: int, hour: int = 0, minute: int = 0) -> int:
    """Unix time of 2027-01-DAY HH:MM local (day 32 = 2027-02-01)."""
    if day == 32:
        return int(datetime(2027, 2, 1, tzinfo=TZ).timestamp())
    return int(datetime(2027, 1, day, hour, minute, tzinfo=TZ).timestamp())


START, END = at(1), at(32)
GAP = (at(10), at(12))  # the exporter was down: no sample strictly inside
A, B, C = "智慧城管综合平台", "旧版数字城管系统", "应急指挥系统"
SWITCH = at(16)  # system A grows from 4 to 12 vCPUs at 2027-01-16 00:00

APPROVED = {
    A: {"vcpus": 16, "ram_bytes": 32 * GIB, "disk_bytes": 500 * GIB, "public_ips": 2},
    B: {"vcpus": 32, "ram_bytes": 64 * GIB, "disk_bytes": 1000 * GIB, "public_ips": 4},
    C: {"vcpus": 8, "ram_bytes": 16 * GIB, "disk_bytes": 200 * GIB, "public_ips": 1},
}
USED = {
    B: {"vcpus": 2, "ram_bytes": 4 * GIB, "disk_bytes": 100 * GIB, "public_ips": 0},
    C: {"vcpus": 8, "ram_bytes": 16 * GIB, "disk_bytes": 190 * GIB, "public_ips": 1},
}


def used_a(res: str, t: int) -> float:
    before = {"vcpus": 4, "ram_bytes": 8 * GIB, "disk_bytes": 300 * GIB, "public_ips": 1}
    after = {"vcpus": 12, "ram_bytes": 24 * GIB, "disk_bytes": 300 * GIB, "public_ips": 1}
    return (before if t < SWITCH else after)[res]


def times(step: int = STEP) -> list[int]:
    return [t for t in range(START, END, step) if not GAP[0] < t < GAP[1]]


# Alerts (ALERTS{alertstate="firing"} as Prometheus' rule evaluation writes it, every 60 s)
HIGH_RISK = (at(5, 10), at(5, 12, 30))  # 2.5 h, 三级 from the rule's annotation: within 4 h
CLOUD_DOWN = (at(20, 3), at(20, 4, 30))  # 1.5 h, 一级 by its label: over 1 h, report needed
LAPSED_ALERT = (at(25), at(25, 6))  # info: a notice, not an incident
DRIFT = (at(3), at(4))  # 3 drift changes for system A, repaired after
FINDINGS = (at(8), at(9))  # 2 validation errors


# Disk per tier (第十八条): system A's tiers sum to its disk total before and after SWITCH
TIERS_APPROVED = {
    A: {"high-speed": 200 * GIB, "standard": 200 * GIB, "system_disk": 100 * GIB},
    B: {"high-speed": 500 * GIB, "standard": 400 * GIB, "system_disk": 100 * GIB},
}


def used_tier(system: str, tier: str, t: int) -> float:
    if system == B:
        return {"high-speed": 60 * GIB, "standard": 20 * GIB, "system_disk": 20 * GIB}[tier]
    if tier == "system_disk":
        return 50 * GIB
    hot = 100 * GIB if t < SWITCH else 150 * GIB  # moved 50 GiB from standard to high-speed
    return hot if tier == "high-speed" else 250 * GIB - hot


# Servers: (system, id, name, shutdown_form, off from, on again at) — None: never / not again
DEC1 = int(datetime(2026, 12, 1, tzinfo=TZ).timestamp())
SERVERS = [
    (A, "s-web", "web-1", "", None, None),  # runs all month
    (A, "s-db", "db-old", "", at(20), None),  # off since 01-20 00:00: 12 days at the end
    (C, "s-legacy", "legacy", "", DEC1, None),  # off since before the period
    (C, "s-batch", "batch", "", at(2), at(5)),  # off three days: under the 7-day threshold
    (B, "s-gt", "host-172.20.4.21", "GT-2027-0001", at(13, 10), None),  # decommission: on purpose
]
NOV20 = int(datetime(2026, 11, 20, tzinfo=TZ).timestamp())
OCT1 = int(datetime(2026, 10, 1, tzinfo=TZ).timestamp())
# Volumes: (system, id, name, tier, GiB, attached server or "", last used (None: in use),
# last sample or None)
VOLUMES = [
    (A, "v-pg", "pg-data", "high-speed", 100, "s-web", None, None),  # in use: hot
    (A, "v-arch", "archive-2025", "high-speed", 50, "", NOV20, None),  # cold: 73 days idle
    (A, "v-dbold", "db-old-data", "high-speed", 40, "s-db", None, None),  # used until 01-20
    (A, "v-tmp", "tmp", "high-speed", 10, "", OCT1, at(15)),  # deleted on 01-15: not listed
    (B, "v-logs", "logs", "high-speed", 60, "", at(25), None),  # 7 days idle: under 30
    (C, "v-scratch", "scratch", "standard", 30, "", OCT1, None),  # cold but not high-speed
]


def server_on(srv: tuple[str, str, str, str, int | None, int | None], t: int) -> bool:
    _s, _i, _n, _f, off, on = srv
    return off is None or t < off or (on is not None and t >= on)


def server_since(srv: tuple[str, str, str, str, int | None, int | None], t: int) -> float:
    """The cloud's record change: the last power change at or before t (else 2026-12-01)."""
    _s, _i, _n, _f, off, on = srv
    stamps = [x for x in (DEC1, off, on) if x is not None and x <= t]
    return float(max(stamps))


def volume_last_used(vol: tuple[Any, ...], t: int) -> float:
    _s, _i, _n, _t, _g, server, last, _end = vol
    if last is not None:
        return float(last)
    srv = next(x for x in SERVERS if x[1] == server)
    return float(t) if server_on(srv, t) else server_since(srv, t)


def const(v: float) -> Callable[[int], float]:
    return lambda t: v


def _stage(stage: str, t: int) -> float:
    """GT-2027-0001 is scheduled until 2027-01-20, then awaits the operator's confirmation."""
    return 1 if (stage == "scheduled") == (t < at(20)) else 0


def _labels(d: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"


def _family(
    name: str, series: list[tuple[dict[str, str], Callable[[int], float | None]]], ts: list[int]
) -> Iterator[str]:
    yield f"# TYPE {name} gauge"
    for labels, value in series:
        lab = _labels(labels)
        for t in ts:
            v = value(t)
            if v is not None:
                yield f"{name}{lab} {v!r} {t}"


def _sys(s: str) -> dict[str, str]:
    return {"system": s, "tenant": s, "tenant_id": {A: "p-a", B: "p-b", C: "p-c"}[s]}


def lines() -> Iterator[str]:
    ts = times()
    minute = [t for t in range(START, END, 60) if not GAP[0] < t < GAP[1]]
    systems = {s: _sys(s) for s in (A, B, C)}
    for res in ("vcpus", "ram_bytes", "disk_bytes", "public_ips"):
        yield from _family(
            f"cgcloud_approved_{res}",
            [(systems[s], const(APPROVED[s][res])) for s in (A, B, C)],
            ts,
        )
        yield from _family(
            f"cgcloud_used_{res}",
            [
                (systems[A], partial(used_a, res)),
                *[(systems[s], const(USED[s][res])) for s in (B, C)],
            ],
            ts,
        )
    yield "# TYPE cgcloud_quota_utilization_ratio gauge"
    for res in ("vcpus", "ram_bytes", "disk_bytes", "public_ips"):
        for s in (A, B, C):
            lab = _labels({**systems[s], "resource": res})
            for t in ts:
                used = used_a(res, t) if s == A else USED[s][res]
                yield f"cgcloud_quota_utilization_ratio{lab} {used / APPROVED[s][res]:.17g} {t}"
    yield from _family(
        "cgcloud_exporter_clock_timestamp_seconds",
        [({"job": "cgcloud", "instance": "127.0.0.1:9477"}, float)],
        ts,
    )
    yield from _family(
        "cgcloud_approval_lapsed",
        [(systems[B], lambda t: 1 if t >= at(25) else 0), (systems[A], lambda t: 0)],
        ts,
    )
    yield from _family(
        "cgcloud_rule_window_end_timestamp_seconds",
        [
            (
                {
                    **systems[A],
                    "form": "WL-2026-0031",
                    "row": "7",
                    "port": "tcp/22",
                    "high_risk": "true",
                },
                lambda t: float(at(5)) if t < at(5, 13) else None,
            ),
            (
                {
                    **systems[A],
                    "form": "WL-2026-0031",
                    "row": "3",
                    "port": "tcp/443",
                    "high_risk": "false",
                },
                lambda t: float(at(32) + 86400 * 300),
            ),
        ],
        ts,
    )
    yield from _family(
        "cgcloud_drift_changes",
        [
            (
                {**systems[A], "kind": "rule", "action": "create"},
                lambda t: 3 if DRIFT[0] <= t < DRIFT[1] else 0,
            )
        ],
        ts,
    )
    yield from _family(
        "cgcloud_validation_findings",
        [
            (
                {"rule": "CG-FORM-001", "severity": "error"},
                lambda t: 2 if FINDINGS[0] <= t < FINDINGS[1] else 0,
            ),
            ({"rule": "CG-HR-002", "severity": "warning"}, lambda t: 0),
        ],
        ts,
    )
    yield from _family(
        "cgcloud_decommission_stage",
        [
            (
                {**systems[B], "form": "GT-2027-0001", "stage": st},
                partial(_stage, st),
            )
            for st in ("scheduled", "awaiting_confirmation")
        ],
        ts,
    )
    yield from _storage(ts, systems)
    yield "# TYPE ALERTS gauge"
    for name, labels, (a, b) in (
        (
            "CgcloudHighRiskRuleOpenPastWindow",
            {
                "severity": "critical",
                "article": "第十三条",
                "system": A,
                "form": "WL-2026-0031",
                "row": "7",
                "port": "tcp/22",
            },
            HIGH_RISK,
        ),
        (
            "CloudServiceDown",
            {"severity": "critical", "incident_level": "一级", "instance": "nova-api"},
            CLOUD_DOWN,
        ),
        (
            "CgcloudApprovalLapsed",
            {"severity": "info", "article": "第十四条", "system": B},
            LAPSED_ALERT,
        ),
    ):
        lab = _labels({"alertname": name, "alertstate": "firing", **labels})
        for t in minute:
            if a <= t <= b:
                yield f"ALERTS{lab} 1 {t}"
    yield "# EOF"


def _storage(ts: list[int], systems: dict[str, dict[str, str]]) -> Iterator[str]:
    """Disk per tier, the servers' power gauges and the volumes' evidence, as the exporter
    computes them at each sample (docs/metrics.md)."""
    for name, value in (
        ("approved", lambda s, tier, t: TIERS_APPROVED[s][tier]),
        ("used", used_tier),
    ):
        yield from _family(
            f"cgcloud_{name}_disk_tier_bytes",
            [
                ({**systems[s], "tier": tier}, partial(value, s, tier))
                for s in TIERS_APPROVED
                for tier in TIERS_APPROVED[s]
            ],
            ts,
        )

    def srv_labels(x: tuple[Any, ...]) -> dict[str, str]:
        return {**systems[x[0]], "server_id": x[1], "server": x[2], "shutdown_form": x[3]}

    for name, fn in (
        ("cgcloud_server_powered_on", lambda x, t: 1.0 if server_on(x, t) else 0.0),
        ("cgcloud_server_power_changed_timestamp_seconds", server_since),
        (
            "cgcloud_server_powered_off_seconds",
            lambda x, t: 0.0 if server_on(x, t) else float(t) - server_since(x, t),
        ),
    ):
        yield from _family(name, [(srv_labels(x), partial(fn, x)) for x in SERVERS], ts)

    def vol_labels(v: tuple[Any, ...]) -> dict[str, str]:
        return {**systems[v[0]], "volume_id": v[1], "volume": v[2], "tier": v[3]}

    def alive(v: tuple[Any, ...], fn: Callable[[int], float]) -> Callable[[int], float | None]:
        return lambda t: fn(t) if v[7] is None or t < v[7] else None

    def in_use(v: tuple[Any, ...], t: int) -> float:
        srv = next((x for x in SERVERS if x[1] == v[5]), None)
        return 1.0 if srv is not None and server_on(srv, t) else 0.0

    for name, fn in (
        ("cgcloud_volume_size_bytes", lambda v, t: float(v[4] * GIB)),
        ("cgcloud_volume_attached_servers", lambda v, t: 1.0 if v[5] else 0.0),
        ("cgcloud_volume_in_use", in_use),
        ("cgcloud_volume_last_used_timestamp_seconds", volume_last_used),
        ("cgcloud_volume_idle_seconds", lambda v, t: float(t) - volume_last_used(v, t)),
    ):
        yield from _family(name, [(vol_labels(v), alive(v, partial(fn, v))) for v in VOLUMES], ts)


def write(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for line in lines():
            fh.write(line + "\n")
    return path
