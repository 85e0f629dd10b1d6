"""Smoke tests: every devcloud service really works, through openstacksdk.

Each test makes its own uniquely named resources and deletes them again.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from openstack import exceptions as exc
from waits import CLOUD_ASYNC, POLL

from cgcloud.devcloud import site
from cgcloud.devcloud.config import TAG

pytestmark = pytest.mark.devcloud


def _sfx() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def conn(devcloud: Any) -> Any:
    return devcloud.conn


@pytest.fixture
def project(conn: Any) -> Iterator[Any]:
    """A throwaway project (deleted with whatever the test left in Neutron)."""
    idc = conn.identity
    dom = idc.find_domain("default")
    proj = idc.create_project(name=f"smoke-{_sfx()}", domain_id=dom.id, description="smoke")
    yield proj
    for ip in conn.network.ips(project_id=proj.id):
        conn.network.delete_ip(ip)
    for r in conn.network.routers(project_id=proj.id):
        for p in conn.network.ports(device_id=r.id, device_owner="network:router_interface"):
            conn.network.remove_interface_from_router(r, port_id=p.id)
        conn.network.delete_router(r)
    for p in conn.network.ports(project_id=proj.id):
        conn.network.delete_port(p)
    for n in conn.network.networks(project_id=proj.id):
        conn.network.delete_network(n)
    for sg in conn.network.security_groups(project_id=proj.id):
        conn.network.delete_security_group(sg)
    idc.delete_project(proj)


def test_status_reports_every_service_up(devcloud: Any) -> None:
    from cgcloud.devcloud import launcher

    rows = launcher.status(devcloud.dir)
    assert {r.name for r in rows} >= {"keystone", "neutron", "nova-api", "cinder-api"}
    for r in rows:
        assert r.up and r.pid and r.pss_bytes > 0, r


def test_keystone_project_user_role(conn: Any, project: Any) -> None:
    idc = conn.identity
    idc.update_project(project, description="updated", tags=["managed"])
    assert idc.get_project(project.id).tags == ["managed"]
    user = idc.create_user(
        name=f"u-{_sfx()}",
        password="pw-" + _sfx(),
        domain_id=project.domain_id,
        default_project_id=project.id,
    )
    try:
        role = idc.find_role("member")
        idc.assign_project_role_to_user(project, user, role)
        assert idc.validate_user_has_project_role(project, user, role)
        names = {a.role["id"] for a in idc.role_assignments(user_id=user.id)}
        assert role.id in names
        idc.unassign_project_role_from_user(project, user, role)
        assert not idc.validate_user_has_project_role(project, user, role)
    finally:
        idc.delete_user(user)


def test_neutron_networks_routers_ports_fips(conn: Any, project: Any) -> None:
    net = conn.network
    ext = net.find_network(site.net_name("public"))
    assert ext is not None and ext.is_router_external
    n = net.create_network(name=f"n-{_sfx()}", project_id=project.id)
    s = net.create_subnet(
        network_id=n.id,
        project_id=project.id,
        ip_version=4,
        cidr="10.10.0.0/24",
        name=f"s-{_sfx()}",
    )
    r = net.create_router(
        name=f"r-{_sfx()}",
        project_id=project.id,
        external_gateway_info={"network_id": ext.id, "enable_snat": True},
    )
    assert r.external_gateway_info["enable_snat"] is True
    net.add_interface_to_router(r, subnet_id=s.id)
    r = net.update_router(r, external_gateway_info={"network_id": ext.id, "enable_snat": False})
    assert r.external_gateway_info["enable_snat"] is False
    p = net.create_port(
        network_id=n.id,
        project_id=project.id,
        name=f"p-{_sfx()}",
        fixed_ips=[{"subnet_id": s.id, "ip_address": "10.10.0.50"}],
    )
    assert p.fixed_ips[0]["ip_address"] == "10.10.0.50"
    net.set_tags(n, ["a", "b"])
    assert n.id in {x.id for x in net.networks(tags="a")}
    fip = net.create_ip(floating_network_id=ext.id, project_id=project.id)
    net.update_ip(fip, port_id=p.id)
    got = net.get_ip(fip.id)
    assert got.fixed_ip_address == "10.10.0.50"
    assert ipaddress.ip_address(got.floating_ip_address) in ipaddress.ip_network(
        site.PUBLIC_POOL_CIDR
    )


def test_neutron_security_groups_rules_and_tags(conn: Any, project: Any) -> None:
    net = conn.network
    sg = net.create_security_group(name=f"sg-{_sfx()}", project_id=project.id, description="smoke")
    rule = dict(
        security_group_id=sg.id,
        direction="ingress",
        ethertype="IPv4",
        protocol="tcp",
        port_range_min=8000,
        port_range_max=8080,
        remote_ip_prefix="192.0.2.0/24",
        project_id=project.id,
    )
    r1 = net.create_security_group_rule(description="row 1", **rule)
    with pytest.raises(exc.ConflictException):
        net.create_security_group_rule(**rule)
    net.set_tags(sg, ["managed-by:cgcloud", "env:test"])
    assert sorted(net.get_security_group(sg.id).tags) == ["env:test", "managed-by:cgcloud"]
    # Neutron limit the engine must live with: rules take no tags.
    with pytest.raises(exc.NotFoundException):
        net.set_tags(r1, ["managed-by:cgcloud"])
    rules = [x for x in net.security_group_rules(security_group_id=sg.id) if x.protocol == "tcp"]
    assert [
        (x.port_range_min, x.port_range_max, x.remote_ip_prefix, x.description) for x in rules
    ] == [(8000, 8080, "192.0.2.0/24", "row 1")]
    net.delete_security_group_rule(r1)
    net.delete_security_group(sg)


def test_neutron_quotas(conn: Any, project: Any) -> None:
    net = conn.network
    net.update_quota(
        project.id,
        networks=7,
        routers=2,
        floating_ips=3,
        security_groups=5,
        security_group_rules=30,
    )
    q = net.get_quota(project.id)
    assert (q.networks, q.routers, q.floating_ips) == (7, 2, 3)
    assert net.get_quota(project.id, details=True).networks["limit"] == 7
    with pytest.raises(exc.ConflictException):
        for i in range(3):
            net.create_router(name=f"rq{i}-{_sfx()}", project_id=project.id)


def test_nova_quotas_and_server_lifecycle(conn: Any, project: Any) -> None:
    cp = conn.compute
    cp.update_quota_set(project.id, instances=20, cores=40, ram=51200)
    q = cp.get_quota_set(project.id)
    assert (q.instances, q.cores, q.ram) == (20, 40, 51200)
    assert "instances" in cp.get_quota_set(project.id, usage=True).usage
    net = conn.network.find_network(site.net_name("internet"))
    srv = cp.create_server(
        name=f"s-{_sfx()}",
        flavor_id=cp.find_flavor("cg.small").id,
        image_id=conn.image.find_image(site.IMAGE_NAME).id,
        networks=[{"uuid": net.id}],
    )
    try:
        srv = cp.wait_for_server(srv, status="ACTIVE", wait=CLOUD_ASYNC, interval=POLL)
        assert srv.addresses
        cp.stop_server(srv)
        cp.wait_for_server(srv, status="SHUTOFF", wait=CLOUD_ASYNC, interval=POLL)
    finally:
        cp.delete_server(srv)
        # bounded for a loaded 2-core machine (tests/integration/waits.py): 60 s was not
        cp.wait_for_delete(srv, wait=CLOUD_ASYNC, interval=POLL)


def test_cinder_quotas_and_volume_lifecycle(conn: Any, project: Any) -> None:
    bs = conn.block_storage
    bs.update_quota_set(project.id, volumes=15, gigabytes=500, snapshots=5)
    q = bs.get_quota_set(project.id)
    assert (q.volumes, q.gigabytes, q.snapshots) == (15, 500, 5)
    v = bs.create_volume(size=1, name=f"v-{_sfx()}")
    try:
        v = bs.wait_for_status(v, "available", failures=["error"], interval=POLL, wait=CLOUD_ASYNC)
        assert v.size == 1
    finally:
        bs.delete_volume(v)
        bs.wait_for_delete(v, interval=POLL, wait=CLOUD_ASYNC)


# ---------------------------------------------------------------- site layout


@pytest.fixture
def zones(devcloud: Any) -> site.Zones:
    if devcloud.zones is None:
        pytest.skip("devcloud was started without a Zones file")
    return site.load_zones(devcloud.zones)


def test_site_networks_per_zone_with_their_cidrs(conn: Any, zones: site.Zones) -> None:
    plan = site.plan_site(zones)
    internal = [z for z in zones.zones if z.internal]
    assert internal and all(
        site.net_name(z.id) in {n.name for n in plan.networks} for z in internal
    )
    for want in plan.networks:
        n = conn.network.find_network(want.name)
        assert n is not None, want.name
        assert bool(n.is_router_external) == want.external
        assert TAG in n.tags
        cidrs = sorted(s.cidr for s in conn.network.subnets(network_id=n.id))
        assert cidrs == sorted(c for _, c in want.subnets)
    public = next(n for n in plan.networks if n.zone == "public")
    assert public.external and public.subnets[0][1] == site.PUBLIC_POOL_CIDR


def test_site_routers_snat_for_default_egress(conn: Any, zones: site.Zones) -> None:
    assert zones.default_egress
    for src, dst in zones.default_egress:
        r = conn.network.find_router(f"router-{src}-{dst}")
        assert r is not None
        gw = r.external_gateway_info
        assert gw["enable_snat"] is True
        assert gw["network_id"] == conn.network.find_network(site.net_name(dst)).id
        inside = conn.network.find_network(site.net_name(src))
        ifaces = list(conn.network.ports(device_id=r.id, device_owner="network:router_interface"))
        assert {p.network_id for p in ifaces} == {inside.id}


def test_site_bastions_at_their_addresses(conn: Any, zones: site.Zones) -> None:
    assert zones.bastions
    for zone_id, address in zones.bastions:
        port = conn.network.find_port(f"bastion-{zone_id}")
        assert port is not None
        assert [ip["ip_address"] for ip in port.fixed_ips] == [address]
        assert port.network_id == conn.network.find_network(site.net_name(zone_id)).id
        srv = conn.compute.find_server(f"bastion-{zone_id}")
        assert srv is not None
        assert conn.compute.get_server(srv.id).status == "ACTIVE"
        assert port.device_id == srv.id


def test_site_flavors_and_image(conn: Any) -> None:
    small = conn.compute.find_flavor("cg.small")
    assert (small.vcpus, small.ram, small.disk) == (1, 1024, 1)
    img = conn.image.find_image(site.IMAGE_NAME)
    assert img is not None and conn.image.get_image(img.id).status == "active"
