"""What is Neutron's and nobody else's: request bodies and facts of the network service.

The core hands over neutral values (``plan.RuleSpec``, quota keys); this module
turns them into Neutron's words and declares the limits Neutron imposes, so the
core never names ``port_range_min`` or ``device_owner`` (docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

from cgcloud import plan as p
from cgcloud.actual import ARule
from cgcloud.desired import QuotaRoom

# every project has a `default` group with four rules, and Neutron adds two egress
# rules (IPv4, IPv6) to every new group (apply removes them, but they count meanwhile)
QUOTA_ROOM = QuotaRoom(groups=1, rules=4, rules_per_new_group=2)
DESCRIPTION_LIMIT = 255  # characters of a group's or rule's description


def rule_body(spec: p.RuleSpec, group_id: str, project_id: str | None) -> dict[str, Any]:
    """A security-group rule create body (None values left out: Neutron's defaults).
    ``project_id``: the group's project, not the caller's — a rule counts against the
    quota of the project it belongs to (default: the admin's)."""
    body = {
        "direction": spec.direction,
        "ethertype": spec.ethertype,
        "protocol": spec.protocol,
        "port_range_min": spec.port_min,
        "port_range_max": spec.port_max,
        "remote_ip_prefix": spec.remote_cidr,
        "description": spec.description,
        "security_group_id": group_id,
        "project_id": project_id,
    }
    return {k: v for k, v in body.items() if v is not None}


def rule(x: dict[str, Any], group_id: str) -> ARule:
    """A rule as Neutron lists it (inside its group), in the core's words."""
    return ARule(
        x["id"],
        group_id,
        x["direction"],
        x.get("ethertype", "IPv4"),
        x.get("protocol"),
        x.get("port_range_min"),
        x.get("port_range_max"),
        x.get("remote_ip_prefix"),
        x.get("remote_group_id"),
        x.get("description") or "",
    )


def is_infrastructure(device_owner: str | None) -> bool:
    """A port Neutron made for itself (router interface, DHCP, floating IP agent):
    never a host a form's CIDR means."""
    return (device_owner or "").startswith("network:")
