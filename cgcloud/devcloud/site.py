"""Lay down the site the `Zones` policy describes, so `cgcloud apply` has somewhere to land.

- one internal (shared, vxlan) network per internal zone, one subnet per CIDR;
- external (router:external, flat) networks for the public Internet zone
  (`public` / 互联网公网: the floating-IP pool, on the documentation range
  203.0.113.0/24 since the zone has no CIDR), for 政务外网骨干网, and for any
  other non-internal zone that is a `default_egress` target;
- a router with SNAT per `default_egress` pair (internal zone -> external zone);
- bastion hosts as ports `bastion-<zone>` at their addresses (full: plus a server);
- flavors, the volume types of the forms' storage tiers and a tiny image (full).
Everything is tagged `cgcloud-devcloud` (flavors: in their description).

Why PyYAML and not cgcloud.loader: the devcloud must not depend on the
validator's loader; it only needs the plain Zones data.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cgcloud.devcloud.config import TAG

PUBLIC_POOL_CIDR = "203.0.113.0/24"  # RFC 5737 TEST-NET-3: never routed anywhere
PUBLIC_IDS = {"public"}
PUBLIC_NAMES = {"互联网公网"}
BACKBONE_NAMES = {"政务外网骨干网"}
VOLUME_TYPES = ("standard", "high-speed")  # ResourceApplication volume tiers (schema enum)
IMAGE_NAME = "cgcloud-tiny"
FLAVORS = (  # name, vcpus, ram MB, disk GB
    ("cg.small", 1, 1024, 1),
    ("cg.medium", 2, 4096, 10),
    ("cg.large", 4, 8192, 20),
)
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    internal: bool
    cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Zones:
    zones: tuple[Zone, ...]
    default_egress: tuple[tuple[str, str], ...] = ()
    bastions: tuple[tuple[str, str], ...] = ()  # (zone id, address)


@dataclass(frozen=True)
class NetworkPlan:
    name: str
    zone: str
    external: bool
    subnets: tuple[tuple[str, str], ...]  # (name, cidr)
    description: str = ""
    physnet: str = ""


@dataclass(frozen=True)
class RouterPlan:
    name: str
    internal_net: str
    external_net: str


@dataclass(frozen=True)
class BastionPlan:
    name: str
    network: str
    subnet: str
    address: str


@dataclass
class SitePlan:
    networks: list[NetworkPlan] = field(default_factory=list)
    routers: list[RouterPlan] = field(default_factory=list)
    bastions: list[BastionPlan] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def resolve_zones(path: Path | str | None = None) -> Path | None:
    """--zones, else the repository's policies/zones.yaml, else the packaged one."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            from cgcloud.devcloud.procs import DevcloudError

            raise DevcloudError("site", f"Zones file not found: {p}")
        return p
    for cand in (
        REPO_ROOT / "policies" / "zones.yaml",
        Path(__file__).resolve().parents[1] / "_data" / "policies" / "zones.yaml",
    ):
        if cand.is_file():
            return cand
    return None


def load_zones(path: Path) -> Zones:
    """Read the first `kind: Zones` document of a YAML file (PyYAML, safe_load)."""
    import yaml

    with path.open(encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
    doc = next((d for d in docs if d.get("kind") == "Zones"), None)
    if doc is None:
        raise ValueError(f"{path}: no `kind: Zones` document")
    return parse_zones(doc)


def parse_zones(doc: dict[str, Any]) -> Zones:
    """Plain dict (one Zones document) -> Zones."""
    zones = tuple(
        Zone(
            id=str(z["id"]),
            name=str(z.get("name", z["id"])),
            internal=bool(z.get("internal")),
            cidrs=tuple(str(c) for c in z.get("cidrs") or ()),
        )
        for z in doc.get("zones") or ()
    )
    egress = tuple((str(a), str(b)) for a, b in doc.get("default_egress") or ())
    bastions = tuple((str(b["zone"]), str(b["address"])) for b in doc.get("bastions") or ())
    return Zones(zones, egress, bastions)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "zone"


def net_name(zone_id: str) -> str:
    return f"zone-{zone_id}"


def is_public(z: Zone) -> bool:
    return z.id in PUBLIC_IDS or z.name in PUBLIC_NAMES


def plan_site(zones: Zones) -> SitePlan:
    """Pure: which networks, routers and bastion ports the Zones file asks for."""
    plan = SitePlan()
    by_id = {z.id: z for z in zones.zones}
    egress_targets = {b for _, b in zones.default_egress}
    for z in zones.zones:
        external = not z.internal and (
            is_public(z) or z.name in BACKBONE_NAMES or z.id in egress_targets
        )
        if not z.internal and not external:
            continue
        cidrs = z.cidrs or ((PUBLIC_POOL_CIDR,) if is_public(z) else ())
        if not cidrs:
            plan.warnings.append(f"zone {z.id}: no CIDR, no network made")
            continue
        subnets = tuple(
            (f"{net_name(z.id)}-{i}" if i else net_name(z.id), c) for i, c in enumerate(cidrs)
        )
        plan.networks.append(
            NetworkPlan(
                net_name(z.id),
                z.id,
                external,
                subnets,
                description=f"{z.name} ({TAG})",
                physnet=_slug(z.id) if external else "",
            )
        )
    nets = {n.zone: n for n in plan.networks}
    for src, dst in zones.default_egress:
        a, b = nets.get(src), nets.get(dst)
        if a is None or b is None or a.external or not b.external:
            plan.warnings.append(
                f"default_egress [{src}, {dst}]: needs an internal zone "
                "and an external zone; no router made"
            )
            continue
        plan.routers.append(RouterPlan(f"router-{src}-{dst}", a.name, b.name))
    for zone_id, address in zones.bastions:
        net = nets.get(zone_id)
        ip = ipaddress.ip_address(address)
        sub = next(
            (
                s
                for s in (net.subnets if net else ())
                if ip in ipaddress.ip_network(s[1], strict=False)
            ),
            None,
        )
        if net is None or sub is None or zone_id not in by_id:
            plan.warnings.append(f"bastion {address}: not inside a network of zone {zone_id}")
            continue
        plan.bastions.append(BastionPlan(f"bastion-{zone_id}", net.name, sub[0], address))
    return plan


def lay_out(conn: Any, zones: Zones, profile: str, say: Callable[[str], None]) -> SitePlan:
    """Create what plan_site() asks for, skipping what exists (by name); idempotent."""
    plan = plan_site(zones)
    for w in plan.warnings:
        say(f"site: warning: {w}")
    ids, subnet_ids = _networks(conn.network, plan)
    _routers(conn.network, plan, ids, subnet_ids)
    ports = _bastion_ports(conn.network, plan, ids, subnet_ids)
    say(
        f"site: {len(plan.networks)} networks, {len(plan.routers)} routers, "
        f"{len(plan.bastions)} bastion ports"
    )
    if profile != "full":
        return plan
    _compute_and_storage(conn, plan, ports)
    say(
        f"site: {len(FLAVORS)} flavors, volume types {'/'.join(VOLUME_TYPES)}, "
        f"image {IMAGE_NAME}, {len(plan.bastions)} bastion servers"
    )
    return plan


def _networks(net: Any, plan: SitePlan) -> tuple[dict[str, Any], dict[str, Any]]:
    """The zones' networks and subnets (name → object of each)."""
    ids: dict[str, Any] = {}
    subnet_ids: dict[str, Any] = {}
    for n in plan.networks:
        obj = net.find_network(n.name)
        if obj is None:
            kw: dict[str, Any] = {"name": n.name, "description": n.description}
            if n.external:
                kw.update(
                    is_router_external=True,
                    provider_network_type="flat",
                    provider_physical_network=n.physnet,
                )
            else:
                kw.update(is_shared=True)
            obj = net.create_network(**kw)
            net.set_tags(obj, [TAG, f"zone:{n.zone}"])
        ids[n.name] = obj
        for sname, cidr in n.subnets:
            sub = net.find_subnet(sname, network_id=obj.id)
            if sub is None:
                sub = net.create_subnet(
                    network_id=obj.id,
                    name=sname,
                    ip_version=4,
                    cidr=cidr,
                    enable_dhcp=not n.external,
                )
                net.set_tags(sub, [TAG, f"zone:{n.zone}"])
            subnet_ids[sname] = sub
    return ids, subnet_ids


def _routers(net: Any, plan: SitePlan, ids: dict[str, Any], subnet_ids: dict[str, Any]) -> None:
    for r in plan.routers:
        router = net.find_router(r.name)
        ext = ids[r.external_net]
        if router is None:
            router = net.create_router(
                name=r.name, external_gateway_info={"network_id": ext.id, "enable_snat": True}
            )
            net.set_tags(router, [TAG])
            for sname, _ in next(n for n in plan.networks if n.name == r.internal_net).subnets:
                net.add_interface_to_router(router, subnet_id=subnet_ids[sname].id)


def _bastion_ports(
    net: Any, plan: SitePlan, ids: dict[str, Any], subnet_ids: dict[str, Any]
) -> dict[str, Any]:
    ports = {}
    for b in plan.bastions:
        port = net.find_port(b.name)
        if port is None:
            port = net.create_port(
                name=b.name,
                network_id=ids[b.network].id,
                fixed_ips=[{"subnet_id": subnet_ids[b.subnet].id, "ip_address": b.address}],
            )
            net.set_tags(port, [TAG, "bastion"])
        ports[b.name] = port
    return ports


def _compute_and_storage(conn: Any, plan: SitePlan, ports: dict[str, Any]) -> None:
    """The full profile: flavors, volume types, the image and the bastion servers."""
    cp = conn.compute
    for name, vcpus, ram, disk in FLAVORS:
        if cp.find_flavor(name) is None:
            cp.create_flavor(
                name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True, description=TAG
            )
    existing = {t.name for t in conn.block_storage.types()}
    for name in VOLUME_TYPES:  # the forms' storage tiers, so per-tier Cinder quotas land
        if name not in existing:
            conn.block_storage.create_type(name=name, description=TAG)
    image = conn.image.find_image(IMAGE_NAME)
    if image is None:
        image = conn.image.create_image(
            name=IMAGE_NAME,
            data=b"\0" * 1024,
            disk_format="raw",
            container_format="bare",
            visibility="public",
            allow_duplicates=True,
            tags=[TAG],
        )
    flavor = cp.find_flavor(FLAVORS[0][0])
    servers = []
    for b in plan.bastions:
        if cp.find_server(b.name) is None:
            servers.append(
                cp.create_server(
                    name=b.name,
                    flavor_id=flavor.id,
                    image_id=image.id,
                    networks=[{"port": ports[b.name].id}],
                    tags=[TAG, "bastion"],
                )
            )
    for s in servers:
        cp.wait_for_server(s, status="ACTIVE", wait=120, interval=0.5)
