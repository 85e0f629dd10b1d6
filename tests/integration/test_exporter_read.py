"""The exporter's read on the real devcloud: rules of groups cgcloud does not manage.

The engine reads every group with its rules embedded (one list); rules of groups
cgcloud does not own are kept apart (`ActualState.foreign_rules`, never changed) and
the exporter counts their SSH/RDP exposures. A hand-made group in a hand-made
project, opened to the world on TCP22, must show up as `managed="false"`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cgcloud import clock
from cgcloud import exporter as ex
from cgcloud.engines.openstack import OpenStackEngine

pytestmark = pytest.mark.devcloud


@pytest.fixture
def hand_made(devcloud: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(devcloud.clouds_yaml))
    engine = OpenStackEngine("devcloud")
    name = f"hand-made-{uuid.uuid4().hex[:6]}"
    pid = engine.call(
        "identity", "POST", "/projects", json={"project": {"name": name, "domain_id": "default"}}
    )["project"]["id"]
    gid = ""
    try:
        gid = engine.call(
            "network",
            "POST",
            "/security-groups",
            json={"security_group": {"name": "ops", "project_id": pid}},
        )["security_group"]["id"]
        rid = engine.call(
            "network",
            "POST",
            "/security-group-rules",
            json={
                "security_group_rule": {
                    "security_group_id": gid,
                    "direction": "ingress",
                    "ethertype": "IPv4",
                    "protocol": "tcp",
                    "port_range_min": 22,
                    "port_range_max": 22,
                    "remote_ip_prefix": "0.0.0.0/0",
                    "project_id": pid,
                }
            },
        )["security_group_rule"]["id"]
        yield {"project": pid, "group": gid, "rule": rid}
    finally:
        if gid:
            engine.call("network", "DELETE", f"/security-groups/{gid}", ok=(404,))
        engine.call("identity", "DELETE", f"/projects/{pid}", ok=(404,))


def test_unmanaged_rules_are_read_apart_and_their_exposure_counted(
    hand_made: dict[str, str],
) -> None:
    engine = OpenStackEngine("devcloud")
    view = ex.read_cloud(engine, None)
    actual = view.actual
    assert hand_made["rule"] not in {r.id for r in actual.rules}  # not cgcloud's: never planned
    foreign = {r.id: r for r in actual.foreign_rules}
    assert foreign[hand_made["rule"]].group_id == hand_made["group"]
    assert (foreign[hand_made["rule"]].port_min, foreign[hand_made["rule"]].remote_cidr) == (
        22,
        "0.0.0.0/0",
    )
    assert any(r.id == hand_made["rule"] for r in view.ingress)
    fams = ex.compute(ex.Inputs(now=clock.now_local("2027-01-15"), view=view))
    exposures = {
        (s.labels["tenant_id"], s.labels["service"], s.labels["managed"]): s.value
        for f in fams
        if f.name == "cgcloud_ssh_rdp_exposures"
        for s in f.samples
    }
    assert exposures[(hand_made["project"], "ssh", "false")] == 1
