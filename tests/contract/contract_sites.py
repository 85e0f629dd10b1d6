"""Sites for the contract suite: one scenario's repository and engine, plus what
someone else does on the cloud (a port appears, a rule is added by hand, a port
goes), each engine its own way, and cleaning up on a shared cloud."""

from __future__ import annotations

import ipaddress
import shutil
import uuid
from pathlib import Path
from typing import Any

from cgcloud import clock, desired
from cgcloud.engines.base import Engine
from cgcloud.validate import load_repository

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
SYSTEM = "智慧城管综合平台"
PLACEHOLDER = "智慧城管-数据库"
NOW = "2027-01-15T10:00"


class Site:
    """One scenario's policy repository (its system renamed uniquely) and engine."""

    def __init__(self, engine: Engine, tmp: Path, make_engine: Any):
        self.engine = engine
        self.make_engine = make_engine  # a second engine on the same cloud
        self.system = f"{SYSTEM}-{uuid.uuid4().hex[:6]}"
        self.repo = tmp / "policies"
        shutil.copytree(POLICIES, self.repo)
        for f in (self.repo / SYSTEM).glob("*.yaml"):
            f.write_text(
                f.read_text(encoding="utf-8").replace(SYSTEM, self.system), encoding="utf-8"
            )

    def desired(self, now: str = NOW) -> desired.DesiredState:
        """The renamed system's desired state only (the other systems of the shipped
        repository are left out: on a shared cloud they belong to other tests)."""
        repo, _, _ = load_repository([self.repo])
        state = desired.compile(repo, clock.now_local(now), self.engine.quota_room)
        mine = self.system
        state.projects = [x for x in state.projects if x.system == mine]
        state.groups = [x for x in state.groups if x.system == mine]
        state.rules = [x for x in state.rules if x.system == mine]
        state.notes = [x for x in state.notes if x.system == mine]
        return state

    # what someone else does on the cloud; each engine's own way
    def make_port(self, project_id: str, ip: str, tags: list[str] | None = None) -> str:
        raise NotImplementedError

    def delete_port(self, port_id: str) -> None:
        raise NotImplementedError

    def add_rule_by_hand(self, group_id: str, cidr: str) -> str:
        raise NotImplementedError

    def cleanup(self) -> None:
        """Nothing to clean on a cloud of its own."""


class MemorySite(Site):
    def make_port(self, project_id: str, ip: str, tags: list[str] | None = None) -> str:
        return self.engine.add_port(project_id, [ip], tags=tags).id  # type: ignore[attr-defined]

    def delete_port(self, port_id: str) -> None:
        self.engine.state.ports.pop(port_id)  # type: ignore[attr-defined]

    def add_rule_by_hand(self, group_id: str, cidr: str) -> str:
        from cgcloud.actual import ARule

        st = self.engine.state  # type: ignore[attr-defined]
        rule = ARule(st.new_id("rule"), group_id, "ingress", "IPv4", "tcp", 8080, 8080, cidr)
        st.rules[rule.id] = rule
        return rule.id


class OpenStackSite(Site):
    def __init__(self, engine: Engine, tmp: Path, make_engine: Any):
        super().__init__(engine, tmp, make_engine)
        self.ports: list[str] = []

    @property
    def call(self) -> Any:
        return self.engine.call  # type: ignore[attr-defined]

    def make_port(self, project_id: str, ip: str, tags: list[str] | None = None) -> str:
        subnets = self.call("network", "GET", "/subnets")["subnets"]
        subnet = next(
            s for s in subnets if ipaddress.ip_address(ip) in ipaddress.ip_network(s["cidr"])
        )
        port = self.call(
            "network",
            "POST",
            "/ports",
            json={
                "port": {
                    "network_id": subnet["network_id"],
                    "project_id": project_id,
                    "name": f"contract-{ip}",
                    "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": ip}],
                }
            },
        )["port"]
        self.ports.append(port["id"])
        if tags:
            self.call("network", "PUT", f"/ports/{port['id']}/tags", json={"tags": tags})
        return str(port["id"])

    def delete_port(self, port_id: str) -> None:
        self.call("network", "DELETE", f"/ports/{port_id}", ok=(404,))

    def add_rule_by_hand(self, group_id: str, cidr: str) -> str:
        body = self.call(
            "network",
            "POST",
            "/security-group-rules",
            json={
                "security_group_rule": {
                    "security_group_id": group_id,
                    "direction": "ingress",
                    "ethertype": "IPv4",
                    "protocol": "tcp",
                    "port_range_min": 8080,
                    "port_range_max": 8080,
                    "remote_ip_prefix": cidr,
                }
            },
        )
        return str(body["security_group_rule"]["id"])

    def cleanup(self) -> None:
        for pid in self.ports:
            self.call("network", "DELETE", f"/ports/{pid}", ok=(404,))
        body = self.call("identity", "GET", "/projects", params={"name": self.system})
        for proj in body.get("projects", []):
            groups = self.call(
                "network", "GET", "/security-groups", params={"project_id": proj["id"]}
            )["security_groups"]
            for g in sorted(groups, key=lambda g: g["name"] == "default"):
                self.call("network", "DELETE", f"/security-groups/{g['id']}", ok=(404, 409))
            self.call("identity", "DELETE", f"/projects/{proj['id']}", ok=(404,))
