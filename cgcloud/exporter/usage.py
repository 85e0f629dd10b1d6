"""Metrics for 第十八条 and the usage analysis: disk per storage tier, each server's power
state, each volume's tier, attachment and "last used" evidence.

Pure, from the snapshot's plain data (``metrics.Inputs``). Series exist only for the
projects cgcloud manages, one per server and per volume there: bounded by what the
forms approve (Nova refuses servers past the approved ``instances``, Cinder volumes
past the project's ``volumes``/``gigabytes`` quotas), not by the cloud's size.

"Last used" of a volume is evidence, not I/O (the block-storage API has no I/O
counters): attached to a running server → now (it may be in use); attached to
servers that are all off → when the latest of them last changed power state (or the
attachment, if later); detached → the volume record's last change (a detach updates
it). Each is the latest moment the volume *could* have been read or written, so the
idle time it gives is never longer than the real one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from cgcloud.engines.base import ServerPower, VolumeUse
    from cgcloud.exporter.metrics import Inputs

GIB = 1024**3
SYSTEM_DISK = "system_disk"  # the tier label of servers' root disks (flavors, not volumes)
TENANT = ["tenant", "tenant_id", "system"]
Gauge = Callable[[str, str, list[str]], GaugeMetricFamily]


def families(inp: Inputs, tenants: dict[str, tuple[str, str, str]], gauge: Gauge) -> None:
    """Add the tier, server and volume families of one snapshot."""
    by_pid = {t[1]: t for t in tenants.values() if t[1]}
    _tier_families(inp, tenants, gauge)
    if inp.view is not None:
        power = _server_families(inp, by_pid, gauge)
        _volume_families(inp, by_pid, power, gauge)


def _tier_families(inp: Inputs, tenants: dict[str, tuple[str, str, str]], gauge: Gauge) -> None:
    """Approved and used disk per tier; the tiers of one system sum to its
    ``cgcloud_approved_disk_bytes`` / ``cgcloud_used_disk_bytes``."""
    if inp.state is None:
        return
    approved_f = gauge(
        "cgcloud_approved_disk_tier_bytes",
        "Approved disk per storage tier for the current year: volumes by the forms' "
        "tier, servers' system disks as tier system_disk.",
        [*TENANT, "tier"],
    )
    used_f = gauge(
        "cgcloud_used_disk_tier_bytes",
        "Disk in use per storage tier: volumes by volume type, servers' root disks "
        "as tier system_disk.",
        [*TENANT, "tier"],
    )
    used: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    if inp.view is not None:
        for s in inp.view.servers:
            used[s.project_id][SYSTEM_DISK] += s.disk_gb * GIB
        for pid, gb_total in inp.view.volume_gb.items():
            # an engine that does not say the tier: the GB still count, under tier ""
            tiers = inp.view.volume_gb_by_tier.get(pid) or {"": gb_total}
            for tier, gb in tiers.items():
                used[pid][tier] += gb * GIB
    for proj in inp.state.projects:
        labels = tenants.get(proj.system, (proj.name, "", proj.system))
        q = proj.quotas
        approved = {t: gb * GIB for t, gb in q.gigabytes_by_tier.items()}
        approved[SYSTEM_DISK] = (q.gigabytes - sum(q.gigabytes_by_tier.values())) * GIB
        u = used.get(labels[1], {}) if labels[1] else {}
        for tier in sorted(approved.keys() | u.keys()):
            approved_f.add_metric([*labels, tier], approved.get(tier, 0.0))
            if inp.view is not None:
                used_f.add_metric([*labels, tier], u.get(tier, 0.0))


def _server_families(
    inp: Inputs, by_pid: dict[str, tuple[str, str, str]], gauge: Gauge
) -> dict[str, ServerPower]:
    assert inp.view is not None
    labels = [*TENANT, "server_id", "server", "shutdown_form"]
    on_f = gauge(
        "cgcloud_server_powered_on",
        "1 when the server is running, 0 when it is not (shut off, paused, suspended, "
        "error). shutdown_form: the ShutdownNotice that powered it off on purpose.",
        labels,
    )
    since_f = gauge(
        "cgcloud_server_power_changed_timestamp_seconds",
        "The cloud's latest record change of the server (Nova updated_at, or cgcloud's "
        "power-off mark): its power state is unchanged since at least then.",
        labels,
    )
    off_f = gauge(
        "cgcloud_server_powered_off_seconds",
        "How long the server has been off by that evidence (exporter clock minus the "
        "change time); 0 while it runs.",
        labels,
    )
    now = inp.now.timestamp()
    out = {}
    for s in sorted(inp.view.power, key=lambda x: (x.project_id, x.name, x.id)):
        tenant = by_pid.get(s.project_id)
        if tenant is None:
            continue  # not a project cgcloud manages
        out[s.id] = s
        series = [*tenant, s.id, s.name, s.shutdown_form]
        on_f.add_metric(series, 1 if s.powered_on else 0)
        if s.since is not None:
            since_f.add_metric(series, s.since.timestamp())
            off_f.add_metric(series, 0 if s.powered_on else max(0.0, now - s.since.timestamp()))
    return out


def last_used(v: VolumeUse, power: dict[str, ServerPower], now: datetime) -> datetime | None:
    """The latest moment the volume could have been read or written (module docstring)."""
    if not v.server_ids:
        return v.updated_at
    servers = [power.get(i) for i in v.server_ids]
    if any(s is None or s.powered_on for s in servers):
        return now  # a running (or unknown) server may be using it now
    stamps = [s.since for s in servers if s is not None and s.since is not None]
    stamps += [v.attached_at] if v.attached_at is not None else []
    return max(stamps, default=None)


def _volume_families(
    inp: Inputs,
    by_pid: dict[str, tuple[str, str, str]],
    power: dict[str, ServerPower],
    gauge: Gauge,
) -> None:
    assert inp.view is not None
    labels = [*TENANT, "volume_id", "volume", "tier"]
    size_f = gauge("cgcloud_volume_size_bytes", "Size of the volume.", labels)
    att_f = gauge(
        "cgcloud_volume_attached_servers",
        "Servers the volume is attached to (0: detached).",
        labels,
    )
    use_f = gauge(
        "cgcloud_volume_in_use",
        "1 when the volume is attached to a running server (it may be read or written).",
        labels,
    )
    last_f = gauge(
        "cgcloud_volume_last_used_timestamp_seconds",
        "The latest moment the volume could have been used, from the API's evidence "
        "(running server: now; servers off: their power change; detached: its last "
        "record change). Not I/O: the block-storage API has none.",
        labels,
    )
    idle_f = gauge(
        "cgcloud_volume_idle_seconds",
        "Exporter clock minus cgcloud_volume_last_used_timestamp_seconds (0 while in use).",
        labels,
    )
    for v in sorted(inp.view.volumes, key=lambda x: (x.project_id, x.name, x.id)):
        tenant = by_pid.get(v.project_id)
        if tenant is None:
            continue
        series = [*tenant, v.id, v.name, v.tier]
        size_f.add_metric(series, v.size_gb * GIB)
        att_f.add_metric(series, len(v.server_ids))
        running = any((s := power.get(i)) is None or s.powered_on for i in v.server_ids)
        use_f.add_metric(series, 1 if running else 0)
        last = last_used(v, power, inp.now)
        if last is not None:
            last_f.add_metric(series, last.timestamp())
            idle_f.add_metric(series, max(0.0, (inp.now - last).total_seconds()))
