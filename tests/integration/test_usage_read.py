"""The exporter's usage read on the real devcloud: volume tiers, attachments and server
power states as Cinder and Nova (fake drivers, real APIs) return them.

A volume of type ``high-speed`` is attached to a server that is then really stopped
(Nova's fake driver reports SHUTOFF and power state 4) and the volume detached. The
engine must see the tier, the attachment with its time, the power state, and the
record changes (``updated_at``) no earlier than the actions that made them: that is
the evidence the metrics and the report rely on. Three paged lists, whatever happens.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from waits import CLOUD_ASYNC, POLL, wait_until

from cgcloud import plan as p
from cgcloud.devcloud import site
from cgcloud.engines.base import Usage
from cgcloud.engines.openstack import OpenStackEngine

pytestmark = pytest.mark.devcloud
SKEW = timedelta(seconds=2)  # API timestamps have whole seconds; same host clock


def _read(engine: OpenStackEngine) -> Usage:
    before = engine.requests
    u = engine.read_usage(p.ActualState(services=["compute", "volume", "network"]))
    assert engine.requests - before == 3, "floating IPs, volumes, servers: one page each"
    return u


def test_tier_attachment_and_power_state_are_read_from_cinder_and_nova(
    devcloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(devcloud.clouds_yaml))
    conn, sfx = devcloud.conn, uuid.uuid4().hex[:6]
    cp, bs = conn.compute, conn.block_storage
    engine = OpenStackEngine("devcloud")
    engine.services()  # authenticate first: the token is not one of the lists
    vol = bs.create_volume(size=1, name=f"usage-{sfx}", volume_type="high-speed")
    srv = None
    try:
        vol = bs.wait_for_status(
            vol, "available", failures=["error"], interval=POLL, wait=CLOUD_ASYNC
        )
        srv = cp.create_server(
            name=f"usage-{sfx}",
            flavor_id=cp.find_flavor("cg.small").id,
            image_id=conn.image.find_image(site.IMAGE_NAME).id,
            networks=[{"uuid": conn.network.find_network(site.net_name("internet")).id}],
        )
        srv = cp.wait_for_server(srv, status="ACTIVE", wait=CLOUD_ASYNC, interval=POLL)
        attached = datetime.now(UTC)
        cp.create_volume_attachment(srv, volume_id=vol.id)
        bs.wait_for_status(vol, "in-use", failures=["error"], interval=POLL, wait=CLOUD_ASYNC)

        u = _read(engine)
        v = next(x for x in u.volumes if x.id == vol.id)
        assert (v.tier, v.size_gb, v.server_ids) == ("high-speed", 1, [srv.id])
        assert v.attached_at is not None and v.attached_at >= attached - SKEW
        assert u.volume_gb_by_tier[v.project_id]["high-speed"] >= 1
        s = next(x for x in u.servers if x.id == srv.id)
        assert (s.powered_on, s.status, s.shutdown_form) == (True, "ACTIVE", "")

        stopped = datetime.now(UTC)
        cp.stop_server(srv)
        cp.wait_for_server(srv, status="SHUTOFF", wait=CLOUD_ASYNC, interval=POLL)
        off = wait_until(
            "Nova to report the power state off",
            lambda: next(
                (x for x in _read(engine).servers if x.id == srv.id and not x.powered_on), None
            ),
        )
        assert off is not None and off.status == "SHUTOFF"
        assert off.since is not None and off.since >= stopped - SKEW  # off at least since then

        detached = datetime.now(UTC)
        cp.delete_volume_attachment(vol.id, srv)
        bs.wait_for_status(vol, "available", failures=["error"], interval=POLL, wait=CLOUD_ASYNC)
        v = next(x for x in _read(engine).volumes if x.id == vol.id)
        assert v.server_ids == [] and v.attached_at is None
        assert v.updated_at is not None and v.updated_at >= detached - SKEW
    finally:
        if srv is not None:
            cp.delete_server(srv)
            cp.wait_for_delete(srv, wait=CLOUD_ASYNC, interval=POLL)
        bs.wait_for_status(vol, "available", failures=["error"], interval=POLL, wait=CLOUD_ASYNC)
        bs.delete_volume(vol)
        bs.wait_for_delete(vol, interval=POLL, wait=CLOUD_ASYNC)
