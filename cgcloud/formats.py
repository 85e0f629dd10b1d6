"""The field names of cgcloud's stable JSON formats where they are not the code's names.

``cgcloud-plan/v1`` (a rule's ``after``) and ``cgcloud-desired/v1`` (a rule) name a
rule's ports and remote as Neutron does, because v1 was fixed when OpenStack was the
only engine. The formats are stable (docs/reconcile.md: no key removed or renamed
within v1), so the names stay — here, and only here: the core's own types say
``port_min``, ``port_max`` and ``remote_cidr``, and an engine builds its own requests.
"""

from __future__ import annotations

from typing import Any

PORT_MIN = "port_range_min"
PORT_MAX = "port_range_max"
REMOTE_CIDR = "remote_ip_prefix"


def rule_ports(port_min: int | None, port_max: int | None) -> dict[str, Any]:
    """A rule's port range under its v1 keys."""
    return {PORT_MIN: port_min, PORT_MAX: port_max}


def plan_rule(
    direction: str,
    ethertype: str,
    protocol: str | None,
    port_min: int | None,
    port_max: int | None,
    remote_cidr: str,
    description: str,
) -> dict[str, Any]:
    """The ``after`` of a rule create in ``cgcloud-plan/v1``."""
    return {
        "direction": direction,
        "ethertype": ethertype,
        "protocol": protocol,
        **rule_ports(port_min, port_max),
        REMOTE_CIDR: remote_cidr,
        "description": description,
    }
