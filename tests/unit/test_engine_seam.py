"""The engine seam: the neutral types that cross it, and a guard that OpenStack's
words stay under cgcloud/engines/openstack/.

Why a grep next to import-linter: import-linter (pyproject ``[tool.importlinter]``)
keeps the core from *importing* an engine, but it cannot see a string literal — a
Neutron request body or a Keystone tag built in the core imports nothing. This test
catches those words wherever they would come back.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cgcloud import desired, formats
from cgcloud import plan as p
from cgcloud.engines.memory import QUOTA_ROOM, MemoryEngine
from cgcloud.engines.openstack import fingerprints, neutron

PACKAGE = Path(__file__).resolve().parents[2] / "cgcloud"
# OpenStack's words: Neutron rule and port fields, Keystone's fingerprint tag
OPENSTACK_WORDS = re.compile(
    r"port_range_m(?:in|ax)|remote_ip_prefix|device_owner|cgcloud:rules=|\"network:"
)
# where they belong: the OpenStack engine, the Pulumi program (it declares Neutron
# resources), the devcloud (it builds an OpenStack); formats.py holds the v1 JSON names
ALLOWED = ("engines/openstack/", "engines/pulumi/", "devcloud/", "formats.py")


def test_openstack_words_appear_only_where_openstack_is_spoken() -> None:
    leaks = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not str(path.relative_to(PACKAGE)).startswith(ALLOWED)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OPENSTACK_WORDS.search(line)
    ]
    assert leaks == []


def test_the_guard_sees_a_leak() -> None:
    """The pattern is not dead: each word it guards matches."""
    for text in ('"port_range_min"', "remote_ip_prefix", "x.device_owner", '"cgcloud:rules="'):
        assert OPENSTACK_WORDS.search(text), text


# --------------------------------------------------------------------------- neutral types


def _spec(**kw: object) -> p.RuleSpec:
    base: dict[str, object] = {
        "group_key": "k" * 16,
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_min": 443,
        "port_max": 443,
        "remote_cidr": "10.19.0.0/16",
        "description": "cgcloud WL-2026-0031#3 until 2027-12-31",
    }
    base.update(kw)
    return p.RuleSpec(**base)  # type: ignore[arg-type]


def test_a_rule_spec_becomes_neutrons_body_in_the_engine() -> None:
    body = neutron.rule_body(_spec(), "sg-1", "proj-1")
    assert body == {
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": 443,
        "port_range_max": 443,
        "remote_ip_prefix": "10.19.0.0/16",
        "description": "cgcloud WL-2026-0031#3 until 2027-12-31",
        "security_group_id": "sg-1",
        "project_id": "proj-1",
    }
    # no protocol, no ports: Neutron's defaults (the keys left out, not sent as null)
    any_body = neutron.rule_body(_spec(protocol=None, port_min=None, port_max=None), "sg", None)
    assert not {"protocol", "port_range_min", "port_range_max", "project_id"} & set(any_body)


def test_neutron_rules_read_back_into_the_core_words() -> None:
    listed = {
        "id": "r1",
        "direction": "ingress",
        "ethertype": "IPv6",
        "protocol": "udp",
        "port_range_min": 53,
        "port_range_max": 54,
        "remote_ip_prefix": "::/0",
        "remote_group_id": None,
        "description": None,
    }
    r = neutron.rule(listed, "sg-1")
    assert (r.group_id, r.ethertype, r.protocol, r.port_min, r.port_max, r.remote_cidr) == (
        "sg-1",
        "IPv6",
        "udp",
        53,
        54,
        "::/0",
    )
    assert r.description == ""


def test_which_ports_are_the_clouds_own() -> None:
    assert neutron.is_infrastructure("network:router_interface")
    assert neutron.is_infrastructure("network:dhcp")
    assert not neutron.is_infrastructure("compute:nova")
    assert not neutron.is_infrastructure(None) and not neutron.is_infrastructure("")


def test_the_plan_json_of_a_rule_keeps_its_v1_names() -> None:
    """docs/reconcile.md: no key of cgcloud-plan/v1 is renamed."""
    after = formats.plan_rule("egress", "IPv4", "tcp", 22, 22, "0.0.0.0/0", "d")
    assert list(after) == [
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "description",
    ]


def test_fingerprints_are_stored_as_keystone_tags_by_the_engine_only() -> None:
    tags = [desired.MANAGED_TAG, fingerprints.tag("a" * 16), "cgcloud:system=x"]
    assert fingerprints.recorded(tags) == ["a" * 16]
    assert fingerprints.other_tags(tags) == [desired.MANAGED_TAG, "cgcloud:system=x"]
    assert fingerprints.recorded(["cgcloud:rulesX"]) == []


@pytest.mark.parametrize("room", [neutron.QUOTA_ROOM, QUOTA_ROOM])
def test_engines_declare_the_room_their_cloud_needs(room: desired.QuotaRoom) -> None:
    """Both clouds put a `default` group of four rules in every project and two egress
    rules in every new group: the memory engine behaves like Neutron here."""
    assert room == desired.QuotaRoom(groups=1, rules=4, rules_per_new_group=2)


def test_the_memory_cloud_holds_what_its_room_says() -> None:
    eng = MemoryEngine()
    proj = eng.add_project("p")
    groups = [g for g in eng.state.groups.values() if g.project_id == proj.id]
    assert len(groups) == eng.quota_room.groups
    assert len(eng._group_rules(groups[0].id)) == eng.quota_room.rules
