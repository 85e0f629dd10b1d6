"""The exporter's reads beyond the actual state: volume GB and floating IPs per project.

Two paginated lists (Cinder volumes, Neutron floating IPs), never one call per project.
"""

from __future__ import annotations

from cgcloud.actual import ActualState
from cgcloud.engines.base import Usage
from cgcloud.engines.openstack.api import Api


def read_usage(api: Api, actual: ActualState) -> Usage:
    out = Usage()
    for x in api.pages("floatingips", {"fields": ["id", "project_id"]}):
        pid = x.get("project_id") or ""
        out.floating_ips[pid] = out.floating_ips.get(pid, 0) + 1
    if "volume" in actual.services:
        for x in api.list_pages("volume", "/volumes/detail", "volumes", {"all_tenants": "True"}):
            pid = x.get("os-vol-tenant-attr:tenant_id") or ""
            out.volume_gb[pid] = out.volume_gb.get(pid, 0) + int(x.get("size") or 0)
    return out
