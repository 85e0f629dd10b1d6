"""The exporter's reads beyond the actual state: volume GB and floating IPs per project.

Two paginated lists (Cinder volumes, Neutron floating IPs), never one call per project.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cgcloud.actual import ActualState
from cgcloud.engines.base import Usage

if TYPE_CHECKING:
    from cgcloud.engines.openstack.engine import OpenStackEngine


def read_usage(engine: OpenStackEngine, actual: ActualState) -> Usage:
    out = Usage()
    for x in engine._pages("floatingips", {"fields": ["id", "project_id"]}):
        pid = x.get("project_id") or ""
        out.floating_ips[pid] = out.floating_ips.get(pid, 0) + 1
    if "volume" in actual.services:
        for x in list_pages(
            engine, "volume", "/volumes/detail", "volumes", {"all_tenants": "True"}
        ):
            pid = x.get("os-vol-tenant-attr:tenant_id") or ""
            out.volume_gb[pid] = out.volume_gb.get(pid, 0) + int(x.get("size") or 0)
    return out


def list_pages(
    engine: OpenStackEngine, service: str, url: str, key: str, params: dict[str, Any], **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Nova/Cinder lists by limit/marker (they share the `<key>_links` convention)."""
    q: dict[str, Any] = {"limit": 1000, **params}
    while True:
        body = engine.call(service, "GET", url, params=q, **kwargs) or {}
        items = body.get(key, [])
        yield from items
        if not items or not body.get(f"{key}_links"):
            return
        q = {**q, "marker": items[-1]["id"]}
