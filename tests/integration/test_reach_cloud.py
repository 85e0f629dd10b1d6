"""`cgcloud reach --cloud` against the real devcloud (no mocks).

The example repository is copied with a unique system name, placeholder name and host
addresses, so nothing another test (or engineer) made on the shared devcloud is in the
answer; everything made here is removed afterwards.
"""

from __future__ import annotations

import json
import random
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cgcloud.cli import app
from cgcloud.engines.openstack import OpenStackEngine

pytestmark = pytest.mark.devcloud

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SYSTEM = "智慧城管综合平台"
PLACEHOLDER = "智慧城管-数据库"
NOW = "2027-01-15T10:00"
LOCK_WAIT_S = 180


class Site:
    """A unique copy of the example repository applied to the devcloud."""

    def __init__(self, tmp: Path, clouds_yaml: str) -> None:
        suffix = uuid.uuid4().hex[:6]
        self.system = f"{SYSTEM}-{suffix}"
        self.placeholder = f"{PLACEHOLDER}{suffix}"
        third = random.randint(100, 250)
        self.web = f"172.20.{third}.11"
        self.env = {"OS_CLIENT_CONFIG_FILE": clouds_yaml, "CGCLOUD_CACHE_DIR": str(tmp / "cache")}
        self.repo = tmp / "policies"
        shutil.copytree(POLICIES, self.repo)
        for f in (self.repo / SYSTEM).glob("*.yaml"):
            text = f.read_text(encoding="utf-8")
            text = text.replace(SYSTEM, self.system).replace(PLACEHOLDER, self.placeholder)
            text = text.replace("172.20.4.", f"172.20.{third}.").replace(
                "172.21.4.", f"172.21.{third}."
            )
            f.write_text(text, encoding="utf-8")
        self.engine = OpenStackEngine("devcloud")
        self.ports: list[str] = []
        self.groups: list[str] = []

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(app, [*args], env=self.env)

    def reach(self, *args: str) -> Any:
        return self.cli("reach", str(self.repo), "--cloud", "devcloud", "--at", NOW, *args)

    def apply(self) -> None:
        """`cgcloud apply`, waiting (bounded) while another session holds the cloud's apply
        lock (exit 4): the devcloud is shared, and not every user of it takes the flock."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            r = self.cli(
                "apply",
                str(self.repo),
                "--cloud",
                "devcloud",
                "--now",
                NOW,
                "--yes",
                "--audit-log",
                str(self.repo.parent / "audit.jsonl"),
            )
            if r.exit_code != 4 or time.monotonic() > deadline:
                break
            time.sleep(3)
        assert r.exit_code == 0, r.output

    def project_id(self) -> str:
        body = self.engine.call("identity", "GET", "/projects", params={"name": self.system})
        return str(body["projects"][0]["id"])

    def make_port(self, ip: str) -> dict[str, Any]:
        import ipaddress

        subnets = self.engine.call("network", "GET", "/subnets")["subnets"]
        subnet = next(
            s for s in subnets if ipaddress.ip_address(ip) in ipaddress.ip_network(s["cidr"])
        )
        port = self.engine.call(
            "network",
            "POST",
            "/ports",
            json={
                "port": {
                    "network_id": subnet["network_id"],
                    "project_id": self.project_id(),
                    "name": f"reach-test-{ip}",
                    "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": ip}],
                }
            },
        )["port"]
        self.ports.append(port["id"])
        return dict(port)

    def cleanup(self) -> None:
        for pid in self.ports:
            self.engine.call("network", "DELETE", f"/ports/{pid}", ok=(404,))
        body = self.engine.call("identity", "GET", "/projects", params={"name": self.system})
        for proj in body.get("projects", []):
            groups = self.engine.call(
                "network", "GET", "/security-groups", params={"project_id": proj["id"]}
            )["security_groups"]
            for g in groups:
                self.engine.call("network", "DELETE", f"/security-groups/{g['id']}", ok=(404, 409))
            self.engine.call("identity", "DELETE", f"/projects/{proj['id']}", ok=(404,))


@pytest.fixture
def site(tmp_path: Path, devcloud: Any) -> Iterator[Site]:
    s = Site(tmp_path, devcloud.clouds_yaml)
    mp = pytest.MonkeyPatch()
    mp.setenv("OS_CLIENT_CONFIG_FILE", devcloud.clouds_yaml)
    try:
        yield s
    finally:
        s.cleanup()
        mp.undo()


def test_hand_made_rdp_to_the_world_is_unauthorised_exposure(site: Site) -> None:
    site.apply()
    port = site.make_port(site.web)
    site.apply()  # binds cgcloud's groups to the new port
    r = site.reach("--to", site.web, "--format", "json")
    assert r.exit_code == 0, r.output
    cloud = json.loads(r.stdout)["cloud"]
    assert cloud["unauthorised"] == 0
    allowed = {(v["ports"], v["remote"], tuple(v["rows"])) for v in cloud["rules"]}
    assert ("TCP443", "0.0.0.0/0", ("WL-2026-0031#1",)) in allowed
    assert ("TCP22", "172.20.0.10/32", ("WL-2026-0031#7",)) in allowed

    # someone (an admin: the project's quota is cgcloud's, sized for its own groups) opens
    # RDP to the world with a group of their own on the managed host
    quota = site.engine.call("network", "GET", f"/quotas/{site.project_id()}")["quota"]
    site.engine.call(
        "network",
        "PUT",
        f"/quotas/{site.project_id()}",
        json={
            "quota": {
                "security_group": quota["security_group"] + 1,
                "security_group_rule": quota["security_group_rule"] + 3,
            }
        },
    )
    group = site.engine.call(
        "network",
        "POST",
        "/security-groups",
        json={
            "security_group": {
                "name": f"hand-rdp-{uuid.uuid4().hex[:6]}",
                "project_id": site.project_id(),
            }
        },
    )["security_group"]
    rule = site.engine.call(
        "network",
        "POST",
        "/security-group-rules",
        json={
            "security_group_rule": {
                "security_group_id": group["id"],
                "direction": "ingress",
                "ethertype": "IPv4",
                "protocol": "tcp",
                "port_range_min": 3389,
                "port_range_max": 3389,
                "remote_ip_prefix": "0.0.0.0/0",
            }
        },
    )["security_group_rule"]
    now = site.engine.call("network", "GET", f"/ports/{port['id']}")["port"]["security_groups"]
    site.engine.call(
        "network",
        "PUT",
        f"/ports/{port['id']}",
        json={"port": {"security_groups": [*now, group["id"]]}},
    )

    r = site.reach("--to", site.web, "--format", "json")
    assert r.exit_code == 1, r.output
    cloud = json.loads(r.stdout)["cloud"]
    bad = [v for v in cloud["rules"] if not v["authorised"]]
    assert [(v["rule_id"], v["group"], v["managed"], v["uncovered"]) for v in bad] == [
        (rule["id"], group["name"], False, ["TCP3389 来自 0.0.0.0/0"])
    ]
    text = site.reach("--to", f"{site.web}:3389")
    assert text.exit_code == 1 and "未经批准" in text.stdout and group["name"] in text.stdout
    # asking about HTTPS only: the RDP rule is not part of the answer
    assert site.reach("--to", f"{site.web}:443").exit_code == 0
    exposed = site.reach("--exposed", "--format", "json")
    assert exposed.exit_code == 1, exposed.output
    (mine,) = [s for s in json.loads(exposed.stdout)["exposed"] if s["system"] == site.system]
    assert [v["rule_id"] for v in mine["cloud"] if not v["authorised"]] == [rule["id"]]


def test_a_placeholder_without_a_port_is_pending(site: Site) -> None:
    site.apply()
    r = site.reach("--to", site.placeholder, "--format", "json")
    assert r.exit_code == 0, r.output
    cloud = json.loads(r.stdout)["cloud"]
    assert cloud["rules"] == [] and cloud["unauthorised"] == 0
    assert sorted((g["row"]["row"], g["state"]) for g in cloud["gaps"]) == [
        (4, "pending"),
        (9, "pending"),
        (10, "pending"),
    ]
    assert all(site.placeholder in g["detail"] for g in cloud["gaps"])
