"""`cgcloud plan`/`apply` against the real devcloud (no mocks).

Each test works on its own copy of the example repository whose system is
renamed with a unique suffix, so tests do not see each other's projects, and
cleans up what it made. Flavors are global and shared (never deleted).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cgcloud import clock, desired
from cgcloud import plan as planner
from cgcloud.cli import app
from cgcloud.engines.openstack import OpenStackEngine, fingerprints
from cgcloud.validate import load_repository

pytestmark = pytest.mark.devcloud

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SYSTEM = "智慧城管综合平台"
NOW = "2027-01-15T10:00"
PLACEHOLDER = "智慧城管-数据库"


@pytest.fixture(scope="module")
def cloud_env(devcloud: Any) -> Iterator[dict[str, str]]:
    """The devcloud's clouds.yaml for openstacksdk (cloud name `devcloud`)."""
    clouds = getattr(devcloud, "clouds_yaml", None) or str(
        Path.home() / ".cache/cgcloud/devcloud/clouds.yaml"
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    mp.delenv("OS_CLOUD", raising=False)
    yield {"OS_CLIENT_CONFIG_FILE": str(clouds)}
    mp.undo()


class World:
    """One test's repository copy, its system name, a CLI runner and an engine to look."""

    def __init__(self, tmp: Path, env: dict[str, str], cloud: str = "devcloud"):
        self.cloud = cloud
        self.system = f"{SYSTEM}-{uuid.uuid4().hex[:6]}"
        self.repo = tmp / "policies"
        shutil.copytree(POLICIES, self.repo)
        for f in (self.repo / SYSTEM).glob("*.yaml"):
            f.write_text(
                f.read_text(encoding="utf-8").replace(SYSTEM, self.system), encoding="utf-8"
            )
        self.audit = tmp / "audit.jsonl"
        self.env = env
        self.engine = OpenStackEngine("devcloud")
        self.ports: list[str] = []
        self.extra_groups: list[str] = []

    @property
    def system_dir(self) -> Path:
        return self.repo / SYSTEM

    def cli(self, *args: str) -> Any:
        runner = CliRunner()
        cloud = self.cloud
        if args and args[0] == "--cloud":  # world.cli("--cloud", NAME, "plan", ...)
            cloud, args = args[1], args[2:]
        return runner.invoke(
            app, [args[0], str(self.repo), "--cloud", cloud, "--now", NOW, *args[1:]], env=self.env
        )

    def apply(self, *extra: str) -> Any:
        r = self.cli("apply", "--yes", "--audit-log", str(self.audit), *extra)
        return r

    def plan_json(self) -> dict[str, Any]:
        r = self.cli("plan", "--format", "json")
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    def desired(self) -> desired.DesiredState:
        repo, _, _ = load_repository([self.repo])
        return desired.compile(repo, clock.now_local(NOW), self.engine.quota_room)

    def project(self) -> dict[str, Any] | None:
        body = self.engine.call("identity", "GET", "/projects", params={"name": self.system})
        return (body.get("projects") or [None])[0]

    def groups(self) -> list[dict[str, Any]]:
        proj = self.project()
        if proj is None:
            return []
        return self.engine.call(
            "network", "GET", "/security-groups", params={"project_id": proj["id"]}
        )["security_groups"]

    def managed_groups(self) -> list[dict[str, Any]]:
        """cgcloud's groups of the project: the key marker of the description (or the
        tags older applies wrote)."""
        return [
            g
            for g in self.groups()
            if desired.group_marker(g.get("description"))
            or desired.MANAGED_TAG in (g.get("tags") or [])
        ]

    def rules_of(self, group_id: str) -> list[dict[str, Any]]:
        return self.engine.call(
            "network", "GET", "/security-group-rules", params={"security_group_id": group_id}
        )["security_group_rules"]

    def make_port(
        self, ip: str, tags: list[str] | None = None, project_id: str | None = None
    ) -> dict[str, Any]:
        subnets = self.engine.call("network", "GET", "/subnets")["subnets"]
        import ipaddress

        subnet = next(
            s for s in subnets if ipaddress.ip_address(ip) in ipaddress.ip_network(s["cidr"])
        )
        pid = project_id or self.project()["id"]  # type: ignore[index]
        port = self.engine.call(
            "network",
            "POST",
            "/ports",
            json={
                "port": {
                    "network_id": subnet["network_id"],
                    "project_id": pid,
                    "name": f"test-{ip}",
                    "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": ip}],
                }
            },
        )["port"]
        self.ports.append(port["id"])
        if tags:
            self.engine.call("network", "PUT", f"/ports/{port['id']}/tags", json={"tags": tags})
        return port

    def port(self, port_id: str) -> dict[str, Any]:
        return self.engine.call("network", "GET", f"/ports/{port_id}")["port"]

    def cleanup(self) -> None:
        for pid in self.ports:
            self.engine.call("network", "DELETE", f"/ports/{pid}", ok=(404,))
        for gid in self.extra_groups:
            self.engine.call("network", "DELETE", f"/security-groups/{gid}", ok=(404,))
        for g in self.groups():
            if g["name"] != "default":
                self.engine.call("network", "DELETE", f"/security-groups/{g['id']}", ok=(404,))
        proj = self.project()
        if proj is not None:
            for g in self.groups():
                self.engine.call("network", "DELETE", f"/security-groups/{g['id']}", ok=(404, 409))
            self.engine.call("identity", "DELETE", f"/projects/{proj['id']}", ok=(404,))


@pytest.fixture
def world(tmp_path: Path, cloud_env: dict[str, str]) -> Iterator[World]:
    w = World(tmp_path, cloud_env)
    yield w
    w.cleanup()


def _changes(plan: dict[str, Any], *actions: str) -> list[dict[str, Any]]:
    return [c for s in plan["systems"] for c in s["changes"] if c["action"] in actions]


def test_example_repository_applies_as_specified_and_converges(world: World) -> None:
    r = world.apply()
    assert r.exit_code == 0, r.output
    want = world.desired()
    proj = world.project()
    assert proj is not None
    # the rule fingerprint: what enforce compares to skip a settled project (the
    # placeholder has no port yet, so it resolves to nothing)
    fingerprint = planner.fingerprints(want, {})[world.system]
    assert set(proj["tags"]) == {
        desired.MANAGED_TAG,
        f"cgcloud:system={world.system}",
        "cgcloud:status=formal",
        f"{fingerprints.RULES_TAG}{fingerprint}",  # how this engine stores it
    }
    assert "ZY-2027-0001" in proj["description"]
    quotas = world.engine.read_quotas(proj["id"], ["compute", "volume", "network"])
    q = want.projects[0].quotas
    assert (quotas["instances"], quotas["cores"], quotas["ram_mb"]) == (5, 64, 160 * 1024)
    assert quotas["gigabytes"] == q.gigabytes
    # the devcloud has a volume type per storage tier: each tier gets its own quota
    assert q.gigabytes_by_tier, "the example repository grants volumes"
    for tier, gb in q.gigabytes_by_tier.items():
        assert quotas[f"gigabytes_{tier}"] == gb, tier
    assert (quotas["floating_ips"], quotas["security_groups"], quotas["security_group_rules"]) == (
        2,
        q.security_groups,
        q.security_group_rules,
    )
    flavors = world.engine.call("compute", "GET", "/flavors/detail")["flavors"]
    names = {f["name"]: f for f in flavors}
    for fl in want.flavors:
        assert (names[fl.name]["vcpus"], names[fl.name]["ram"]) == (fl.vcpus, fl.ram_mb)
    groups = world.managed_groups()
    assert sorted(g["name"] for g in groups) == sorted(g.name for g in want.groups)
    descs = sorted(x["description"] for g in groups for x in world.rules_of(g["id"]))
    expected = sorted(r.description for r in want.rules if not r.remote_placeholder)
    assert descs == expected  # Neutron's default egress rules were removed
    # the audit log names the forms
    lines = [json.loads(x) for x in world.audit.read_text(encoding="utf-8").splitlines()]
    assert lines and all(
        {"time", "actor", "cloud", "action", "resource", "forms"} <= set(x) for x in lines
    )
    assert "password" not in world.audit.read_text(encoding="utf-8")

    # hosts appear: ports at the rows' addresses, the placeholder as a tagged port
    web = world.make_port("172.20.4.11")
    app1 = world.make_port("172.21.4.21")
    db = world.make_port("172.21.4.30", tags=[desired.PLACEHOLDER_TAG + PLACEHOLDER])
    plan = world.plan_json()
    assert not _changes(plan, "pending")
    r = world.apply()
    assert r.exit_code == 0, r.output
    by_name = {g["id"]: g["name"] for g in groups + world.managed_groups()}
    web_groups = {by_name.get(g) for g in world.port(web["id"])["security_groups"]}
    assert f"cg-{world.system}-172.20.4.11/32,172.20.4.12/32" in web_groups
    assert any(
        "172.21.4.21/32" in (n or "")
        for n in {by_name.get(g) for g in world.port(app1["id"])["security_groups"]}
    )
    db_groups = {by_name.get(g) for g in world.port(db["id"])["security_groups"]}
    assert f"cg-{world.system}-{PLACEHOLDER}" in db_groups
    remote = [
        x
        for g in world.managed_groups()
        for x in world.rules_of(g["id"])
        if x["remote_ip_prefix"] == "172.21.4.30/32"
    ]
    assert remote  # egress to the placeholder, resolved to the tagged port

    # a second apply is a no-op
    r = world.cli("plan", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "没有变更" in r.stdout


def test_editing_a_row_changes_exactly_that_rule(world: World) -> None:
    assert world.apply().exit_code == 0
    np = world.system_dir / "network-policy.yaml"
    np.write_text(
        np.read_text(encoding="utf-8").replace("source: 10.19.0.0/16", "source: 10.20.0.0/16"),
        encoding="utf-8",
    )
    plan = world.plan_json()
    changes = _changes(plan, "create", "update", "delete")
    assert sorted((c["action"], c["kind"]) for c in changes) == [
        ("create", "rule"),
        ("delete", "rule"),
    ]
    created = next(c for c in changes if c["action"] == "create")
    assert created["after"]["remote_ip_prefix"] == "10.20.0.0/16"
    assert created["after"]["description"].startswith("cgcloud WL-2026-0031#3 ")
    r = world.cli("apply", "--yes", "--audit-log", str(world.audit))
    assert r.exit_code == 0, r.output
    assert world.cli("plan", "--detailed-exitcode").exit_code == 0


def _remove_network_policy(world: World) -> None:
    (world.system_dir / "network-policy.yaml").unlink()
    pa = world.system_dir / "project-application.yaml"
    pa.write_text(
        pa.read_text(encoding="utf-8").replace(
            "forms: [ZY-2027-0001, WL-2026-0031]", "forms: [ZY-2027-0001]"
        ),
        encoding="utf-8",
    )


def test_removing_a_form_removes_what_it_granted(world: World) -> None:
    assert world.apply().exit_code == 0
    assert world.managed_groups()
    _remove_network_policy(world)
    plan = world.plan_json()
    deletes = _changes(plan, "delete")
    assert deletes and all(c["kind"] == "group" for c in deletes)
    r = world.apply("--max-deletes", "100")
    assert r.exit_code == 0, r.output
    assert world.managed_groups() == []
    assert world.project() is not None  # the project stays: ZY-2027-0001 still grants it


def test_delete_guard_refuses_and_changes_nothing(world: World) -> None:
    assert world.apply().exit_code == 0
    before = len(world.managed_groups())
    _remove_network_policy(world)
    r = world.apply("--max-deletes", "1")
    assert r.exit_code == 3, r.output
    assert "--max-deletes" in r.output
    assert len(world.managed_groups()) == before


def test_drift_is_repaired_and_unmanaged_resources_survive(world: World) -> None:
    assert world.apply().exit_code == 0
    proj = world.project()
    assert proj is not None
    managed = world.managed_groups()[0]
    hand = world.engine.call(
        "network",
        "POST",
        "/security-group-rules",
        json={
            "security_group_rule": {
                "security_group_id": managed["id"],
                "direction": "ingress",
                "protocol": "tcp",
                "port_range_min": 23,
                "port_range_max": 23,
                "remote_ip_prefix": "0.0.0.0/0",
            }
        },
    )
    hand_id = hand["security_group_rule"]["id"]
    # an unmanaged group (in an unmanaged project: the system's Neutron quota is sized
    # exactly for what the forms grant)
    mine = world.engine.call(
        "network",
        "POST",
        "/security-groups",
        json={"security_group": {"name": f"hand-made-{world.system}"}},
    )["security_group"]
    world.extra_groups.append(mine["id"])
    mine_rule = world.engine.call(
        "network",
        "POST",
        "/security-group-rules",
        json={
            "security_group_rule": {
                "security_group_id": mine["id"],
                "direction": "ingress",
                "protocol": "tcp",
                "port_range_min": 23,
                "port_range_max": 23,
                "remote_ip_prefix": "0.0.0.0/0",
            }
        },
    )
    plan = world.plan_json()
    changes = _changes(plan, "create", "update", "delete")
    assert [(c["action"], c["kind"], c["id"]) for c in changes] == [("delete", "rule", hand_id)]
    assert world.apply().exit_code == 0
    ids = {x["id"] for x in world.rules_of(managed["id"])}
    assert hand_id not in ids
    assert mine_rule["security_group_rule"]["id"] in {x["id"] for x in world.rules_of(mine["id"])}
    assert world.cli("plan", "--detailed-exitcode").exit_code == 0


def test_lock_names_the_holder_and_expires(world: World) -> None:
    holder = OpenStackEngine("devcloud")
    holder.acquire_lock(owner="ci-runner-7")
    try:
        r = world.apply()
        assert r.exit_code == 4, r.output
        assert "ci-runner-7" in r.output
        assert world.project() is None  # nothing was done
    finally:
        holder.release_lock()
    # an expired lease is taken over
    stale = OpenStackEngine("devcloud")
    stale.acquire_lock(ttl=timedelta(seconds=-1), owner="dead-runner")
    r = world.apply()
    assert r.exit_code == 0, r.output
    assert stale.lock_holder() is None


def test_hard_failure_mid_apply_stops_reports_and_rerun_converges(world: World) -> None:
    """A real Neutron refusal half-way (a port with port security off cannot take
    security groups): rules are done, the binding fails, apply says what was not
    done; once the port is fixed a re-run converges."""
    assert world.apply().exit_code == 0
    port = world.make_port("172.21.4.21")
    world.engine.call(
        "network",
        "PUT",
        f"/ports/{port['id']}",
        json={"port": {"security_groups": [], "port_security_enabled": False}},
    )
    np = world.system_dir / "network-policy.yaml"
    np.write_text(
        np.read_text(encoding="utf-8").replace("source: 10.19.0.0/16", "source: 10.20.0.0/16"),
        encoding="utf-8",
    )
    r = world.apply()
    assert r.exit_code == 1, r.output
    assert "失败   update binding" in r.output
    assert "已应用: 完成 2 项，失败 1 项" in r.output  # the rule delete + create went through
    lines = [json.loads(x) for x in world.audit.read_text(encoding="utf-8").splitlines()]
    assert any(x["result"] == "failed" and x["resource"]["kind"] == "binding" for x in lines)
    world.engine.call(
        "network", "PUT", f"/ports/{port['id']}", json={"port": {"port_security_enabled": True}}
    )
    r = world.apply()
    assert r.exit_code == 0, r.output
    assert world.cli("plan", "--detailed-exitcode").exit_code == 0
