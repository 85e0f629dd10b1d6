"""The exporter's reads beyond the actual state: volumes (GB per project and tier, each
volume's attachment), floating IPs per project and every server's power state.

Three paginated lists (Cinder volumes, Neutron floating IPs, Nova servers), never one
call per project, server or volume. What the APIs say and what they don't:

- Cinder's ``/volumes/detail`` names each volume's type (``volume_type``: the tier),
  its attachments (``server_id``, ``attached_at``) and ``updated_at`` (the record's
  last change: an attach or detach changes it). It has no I/O counters.
- Nova's ``/servers/detail`` gives ``OS-EXT-STS:power_state`` (1 = running) and
  ``updated`` (the record's last change): a power change updates the record, so a
  server off now has been off at least since then. The instance-action list would
  date the stop exactly, but it is one call per server, which a refresh must not make.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cgcloud.actual import ActualState
from cgcloud.engines.base import ServerPower, Usage, VolumeUse
from cgcloud.engines.openstack.api import Api

NOVA_RUNNING = 1  # nova.compute.power_state.RUNNING
SERVERS_MICROVERSION = "2.47"
SHUTDOWN_KEY = "cgcloud:shutdown"  # the marks cgcloud.enforce writes on a decommission
POWEROFF_KEY = "cgcloud:poweroff"


def read_usage(api: Api, actual: ActualState) -> Usage:
    out = Usage()
    for x in api.pages("floatingips", {"fields": ["id", "project_id"]}):
        pid = x.get("project_id") or ""
        out.floating_ips[pid] = out.floating_ips.get(pid, 0) + 1
    if "volume" in actual.services:
        for x in api.list_pages("volume", "/volumes/detail", "volumes", {"all_tenants": "True"}):
            out.add_volume(volume_use(x))
    if "compute" in actual.services:
        out.servers = [
            server_power(x)
            for x in api.list_pages(
                "compute",
                "/servers/detail",
                "servers",
                {"all_tenants": 1},
                microversion=SERVERS_MICROVERSION,
            )
        ]
    return out


def volume_use(x: dict[str, Any]) -> VolumeUse:
    """A Cinder volume (API dict) as neutral data."""
    atts = [a for a in x.get("attachments") or [] if a.get("server_id")]
    attached = [t for a in atts if (t := parse_time(a.get("attached_at"))) is not None]
    return VolumeUse(
        id=x["id"],
        name=x.get("name") or "",
        project_id=x.get("os-vol-tenant-attr:tenant_id") or "",
        tier=x.get("volume_type") or "",
        size_gb=int(x.get("size") or 0),
        server_ids=[a["server_id"] for a in atts],
        attached_at=max(attached, default=None),
        updated_at=parse_time(x.get("updated_at")) or parse_time(x.get("created_at")),
    )


def server_power(x: dict[str, Any]) -> ServerPower:
    """A Nova server (API dict) as neutral data: running or not, and since when at least."""
    state = x.get("OS-EXT-STS:power_state")
    on = state == NOVA_RUNNING if state is not None else x.get("status") == "ACTIVE"
    meta = x.get("metadata") or {}
    stamps = [parse_time(x.get("updated")), parse_time(meta.get(POWEROFF_KEY))]
    return ServerPower(
        id=x["id"],
        name=x.get("name") or "",
        project_id=x.get("tenant_id") or "",
        powered_on=on,
        status=x.get("status") or "",
        since=max((t for t in stamps if t is not None), default=None),
        shutdown_form=str(meta.get(SHUTDOWN_KEY) or ""),
    )


def parse_time(text: Any) -> datetime | None:
    """An API timestamp; Cinder's carry no zone and are UTC. None when absent or unreadable."""
    if not text or not isinstance(text, str):
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)
