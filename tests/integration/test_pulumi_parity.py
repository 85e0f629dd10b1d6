"""Parity: the Pulumi program declares what the OpenStack engine made on the devcloud.

The OpenStack engine applies the example repository (with a host port and a
placeholder port); then the Pulumi program runs under Pulumi's mocks with the
resolution read from the same cloud, and every declared project, quota, flavor,
group, rule tuple and binding is compared with the real cloud state — no CLI
needed, the cloud side is real.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pulumi_openstack", reason="the pulumi packages are not installed")

from test_apply import PLACEHOLDER, World, cloud_env, world  # noqa: E402,F401,F811

from cgcloud import desired  # noqa: E402
from cgcloud.engines.openstack import fingerprints  # noqa: E402
from cgcloud.engines.pulumi.program import declare  # noqa: E402
from cgcloud.engines.pulumi.resolve import resolution  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pulumi_engine.mocks import Recorder, run  # noqa: E402

pytestmark = pytest.mark.devcloud


def _declared_rules(rec: Recorder) -> set[tuple[Any, ...]]:
    key_of = {
        f"{d.name}-id": desired.group_marker(d.inputs["description"])
        for d in rec.of_type("SecGroup")
    }
    return {
        (
            key_of[d.inputs["securityGroupId"]],
            d.inputs["direction"],
            d.inputs["ethertype"],
            d.inputs.get("protocol"),
            d.inputs.get("portRangeMin"),
            d.inputs.get("portRangeMax"),
            d.inputs["remoteIpPrefix"],
            d.inputs["description"],
        )
        for d in rec.of_type("SecGroupRule")
    }


def test_program_declares_what_the_openstack_engine_made(world: World) -> None:  # noqa: F811
    assert world.apply().exit_code == 0
    app1 = world.make_port("172.21.4.21")
    db = world.make_port("172.21.4.30", tags=[desired.PLACEHOLDER_TAG + PLACEHOLDER])
    r = world.apply()
    assert r.exit_code == 0, r.output

    state = world.desired()
    actual = world.engine.read(state)
    rec, declared = run(
        lambda: declare(state, resolution(state, actual), volume_types=actual.volume_types)
    )
    proj = world.project()
    assert proj is not None

    [p] = rec.of_type("identity/project:Project")
    assert p.inputs["name"] == proj["name"] == world.system
    assert p.inputs["description"] == proj["description"]
    assert set(p.inputs["tags"]) == set(fingerprints.other_tags(proj["tags"]))

    q = world.engine.read_quotas(proj["id"], ["compute", "volume", "network"])
    [compute] = rec.of_type("QuotaSetV2")
    assert (compute.inputs["instances"], compute.inputs["cores"], compute.inputs["ram"]) == (
        q["instances"],
        q["cores"],
        q["ram_mb"],
    )
    [volume] = rec.of_type("QuoteSetV3")
    assert volume.inputs["gigabytes"] == q["gigabytes"]
    tiers = volume.inputs.get("volumeTypeQuota") or {}
    tier_keys = {f"gigabytes_{t}" for t in state.projects[0].quotas.gigabytes_by_tier}
    assert tiers and set(tiers) == tier_keys
    assert {k: int(v) for k, v in tiers.items()} == {k: q[k] for k in tier_keys}
    [network] = rec.of_type("QuotaV2")
    assert (
        network.inputs["floatingip"],
        network.inputs["securityGroup"],
        network.inputs["securityGroupRule"],
    ) == (q["floating_ips"], q["security_groups"], q["security_group_rules"])

    cloud_flavors = {
        f["name"]: f for f in world.engine.call("compute", "GET", "/flavors/detail")["flavors"]
    }
    for d in rec.of_type("Flavor"):
        f = cloud_flavors[d.inputs["name"]]
        assert (d.inputs["vcpus"], d.inputs["ram"], d.inputs["disk"]) == (
            f["vcpus"],
            f["ram"],
            f["disk"],
        )

    groups = world.managed_groups()
    assert sorted((g["name"], g["description"]) for g in groups) == sorted(
        (d.inputs["name"], d.inputs["description"]) for d in rec.of_type("SecGroup")
    )
    cloud_rules = {
        (
            desired.group_marker(g["description"]),
            x["direction"],
            x["ethertype"],
            x["protocol"],
            x["port_range_min"],
            x["port_range_max"],
            x["remote_ip_prefix"],
            x["description"],
        )
        for g in groups
        for x in world.rules_of(g["id"])
    }
    assert any(t[6] == "172.21.4.30/32" for t in cloud_rules), "the placeholder resolved"
    assert _declared_rules(rec) == cloud_rules

    key_of_id = {g["id"]: desired.group_marker(g["description"]) or "" for g in groups}
    for port in (app1, db):
        on_cloud = sorted(
            key_of_id[g] for g in world.port(port["id"])["security_groups"] if g in key_of_id
        )
        declared_binding = [
            d for d in rec.of_type("PortSecGroupAssociate") if d.inputs["portId"] == port["id"]
        ]
        if not on_cloud:
            assert not declared_binding
            continue
        [b] = declared_binding
        assert (
            sorted(
                gid.removesuffix("-id").removeprefix("group-")
                for gid in b.inputs["securityGroupIds"]
            )
            == on_cloud
        )
    assert rec.of_type("PortSecGroupAssociate"), "a host port carries cgcloud's groups"
    assert not [u for u in declared.unresolved if "占位主机" in u]


def test_the_pulumi_engine_reads_and_leases_through_the_openstack_engine(
    world: World,  # noqa: F811
) -> None:
    """What Pulumi does not own goes to the OpenStack engine, which the Pulumi engine gets
    from the registry (no import): real reads and a real Keystone lease on the devcloud.
    The Pulumi CLI is never called here (``settings`` given), so this runs without it."""
    import uuid
    from datetime import timedelta

    from cgcloud.engines.base import LockHeld
    from cgcloud.engines.pulumi.engine import PulumiEngine
    from cgcloud.engines.pulumi.workspace import Settings

    assert world.apply().exit_code == 0
    settings = Settings("t", "file:///nonexistent", Path("/nonexistent"), "pulumi")
    engine = PulumiEngine("devcloud", settings=settings)
    assert engine.reader.name == "openstack" and engine.reader.cloud == "devcloud"
    state = world.desired()
    actual = engine.read(state)
    assert world.system in {p.name for p in actual.projects}
    assert actual.volume_types and engine.requests > 0
    lease = f"cgcloud-test-pulumi-{uuid.uuid4().hex[:8]}"
    engine.acquire_lock(timedelta(minutes=2), owner="pulumi-test", name=lease)
    try:
        holder = engine.lock_holder(lease)
        assert holder is not None and holder.owner == "pulumi-test"
        other = PulumiEngine("devcloud", settings=settings)
        with pytest.raises(LockHeld):
            other.acquire_lock(timedelta(minutes=2), owner="other", name=lease)
    finally:
        engine.release_lock(lease)
    assert engine.lock_holder(lease) is None
