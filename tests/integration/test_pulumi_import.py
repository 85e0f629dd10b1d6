"""`cgcloud pulumi import-file` on the devcloud: the file names every declared resource with
the id of the real resource, and nothing cgcloud does not manage.

The OpenStack engine applies a one-system repository (unique system name and server
sizes, so every resource is this test's own) with a host port and a placeholder port;
a group and a project someone else made sit next to it. The command runs as users run
it; its file is checked against (a) what the program declares under Pulumi's mocks for
the same repository and ``now`` (tests/unit/pulumi_engine/mocks.py), (b) the cloud,
resource by resource, (c) the resources cgcloud does not manage. Adopting the file with
`pulumi import` needs the Pulumi CLI: that test runs where it is installed and skips here.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pulumi_openstack", reason="the pulumi packages are not installed")

from test_apply import NOW, PLACEHOLDER, World, cloud_env  # noqa: E402,F401
from typer.testing import CliRunner  # noqa: E402

from cgcloud import desired  # noqa: E402
from cgcloud.cli import app  # noqa: E402
from cgcloud.devcloud.config import REGION  # noqa: E402
from cgcloud.engines.pulumi.program import declare  # noqa: E402
from cgcloud.engines.pulumi.resolve import resolution  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pulumi_engine.mocks import run  # noqa: E402

PULUMI = shutil.which("pulumi")
pytestmark = pytest.mark.devcloud
QUOTA_TYPES = {
    "openstack:compute/quotaSetV2:QuotaSetV2",
    "openstack:blockstorage/quoteSetV3:QuoteSetV3",
    "openstack:networking/quotaV2:QuotaV2",
}


@pytest.fixture
def iworld(tmp_path: Path, cloud_env: dict[str, str]) -> Iterator[World]:  # noqa: F811
    w = World(tmp_path, cloud_env)
    shutil.rmtree(w.repo / "旧版数字城管系统")  # one system: the one this test owns
    disk = 101 + uuid.uuid4().int % 800  # flavors of this test only
    for f in w.system_dir.glob("*.yaml"):
        f.write_text(
            f.read_text(encoding="utf-8").replace("system_disk_gb: 100", f"system_disk_gb: {disk}"),
            encoding="utf-8",
        )
    foreign: list[str] = []
    w.foreign_projects = foreign  # type: ignore[attr-defined]
    yield w
    w.cleanup()
    for pid in foreign:  # its groups (Neutron's default too), then the project
        groups = w.engine.call("network", "GET", "/security-groups", params={"project_id": pid})
        for g in groups["security_groups"]:
            w.engine.call("network", "DELETE", f"/security-groups/{g['id']}", ok=(404, 409))
        w.engine.call("identity", "DELETE", f"/projects/{pid}", ok=(404,))


def _import_file(world: World, out: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        app,
        ["pulumi", "import-file", str(world.repo), "--cloud", "devcloud", "--now", NOW]
        + ["--out", str(out), *extra],
        env=world.env,
    )


def _applied(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply, with a host port and a placeholder port, then apply again (bindings)."""
    assert world.apply().exit_code == 0
    app1 = world.make_port("172.21.4.21")
    db = world.make_port("172.21.4.30", tags=[desired.PLACEHOLDER_TAG + PLACEHOLDER])
    r = world.apply()
    assert r.exit_code == 0, r.output
    return app1, db


def test_the_import_file_names_every_declared_resource_with_its_real_id(
    iworld: World, tmp_path: Path
) -> None:
    world = iworld
    app1, _db = _applied(world)
    proj = world.project()
    assert proj is not None
    # next to it, what cgcloud does not manage: someone else's project (with its Neutron
    # default group) holding a group and a rule made by hand (cgcloud's project has no
    # room: its group quota is the forms' count)
    other_project = world.engine.call(
        "identity",
        "POST",
        "/projects",
        json={"project": {"name": f"not-cgcloud-{uuid.uuid4().hex[:6]}", "domain_id": "default"}},
    )["project"]
    world.foreign_projects.append(other_project["id"])  # type: ignore[attr-defined]
    other_group = world.engine.call(
        "network",
        "POST",
        "/security-groups",
        json={"security_group": {"name": "hand-made", "project_id": other_project["id"]}},
    )["security_group"]
    world.extra_groups.append(other_group["id"])
    world.engine.call(
        "network",
        "POST",
        "/security-group-rules",
        json={
            "security_group_rule": {
                "security_group_id": other_group["id"],
                "direction": "ingress",
                "ethertype": "IPv4",
                "protocol": "tcp",
                "port_range_min": 443,
                "port_range_max": 443,
                "remote_ip_prefix": "10.19.0.0/16",
            }
        },
    )

    spare = world.make_port("172.21.4.99")  # no form selects it: Neutron's default group only
    out = tmp_path / "import.json"
    r = _import_file(world, out)
    assert r.exit_code == 0, r.output
    entries = json.loads(out.read_text(encoding="utf-8"))["resources"]
    assert all(set(e) == {"type", "name", "id"} and e["id"] for e in entries)
    # without --out: the same document on stdout, the summary on stderr only
    piped = CliRunner().invoke(
        app,
        ["pulumi", "import-file", str(world.repo), "--cloud", "devcloud", "--now", NOW],
        env=world.env,
    )
    assert piped.exit_code == 0 and json.loads(piped.stdout)["resources"] == entries
    assert "已写出" in piped.stderr and "已写出" not in piped.stdout

    # (a) the program under Pulumi's mocks, same repository, same now, same cloud
    state = world.desired()
    actual = world.engine.read(state)
    rec, declared = run(
        lambda: declare(state, resolution(state, actual), volume_types=actual.volume_types)
    )
    assert not [u for u in declared.unresolved if "占位主机" in u], "the placeholder resolved"
    assert sorted((d.type, d.name) for d in rec.declared) == sorted(
        (e["type"], e["name"]) for e in entries
    ), "every declared resource exactly once, nothing else"

    # (b) every id is the real resource's id
    inputs = {d.name: d.inputs for d in rec.declared}
    groups = {g["id"]: g for g in world.managed_groups()}
    key_of = {gid: desired.group_marker(g["description"]) for gid, g in groups.items()}
    seen_kinds = set()
    for e in entries:
        kind = e["type"].rsplit(":", 1)[1]
        seen_kinds.add(kind)
        want = inputs[e["name"]]
        if kind == "Project":
            assert e["id"] == proj["id"] and want["name"] == proj["name"]
        elif e["type"] in QUOTA_TYPES:
            assert e["id"] == f"{proj['id']}/{REGION}"
        elif kind == "Flavor":
            f = world.engine.call("compute", "GET", f"/flavors/{e['id']}")["flavor"]
            assert (f["name"], f["vcpus"], f["ram"], f["disk"]) == (
                want["name"],
                want["vcpus"],
                want["ram"],
                want["disk"],
            )
        elif kind == "SecGroup":
            assert e["id"] in groups and groups[e["id"]]["name"] == want["name"]
            assert e["name"] == f"group-{key_of[e['id']]}"
        elif kind == "SecGroupRule":
            x = world.engine.call("network", "GET", f"/security-group-rules/{e['id']}")[
                "security_group_rule"
            ]
            assert x["security_group_id"] in groups
            assert want["securityGroupId"] == f"group-{key_of[x['security_group_id']]}-id"
            assert (
                x["direction"],
                x["ethertype"],
                x["protocol"],
                x["port_range_min"],
                x["port_range_max"],
                x["remote_ip_prefix"],
                x["description"],
            ) == (
                want["direction"],
                want["ethertype"],
                want.get("protocol"),
                want.get("portRangeMin"),
                want.get("portRangeMax"),
                want["remoteIpPrefix"],
                want["description"],
            )
        elif kind == "PortSecGroupAssociate":
            assert e["id"] == want["portId"]
            on_port = set(world.port(e["id"])["security_groups"])
            assert {f"group-{key_of[g]}-id" for g in on_port if g in groups} == set(
                want["securityGroupIds"]
            )
        else:
            raise AssertionError(f"a type the test does not know: {e['type']}")
    assert seen_kinds >= {"Project", "Flavor", "SecGroup", "SecGroupRule"}
    assert app1["id"] in {e["id"] for e in entries}, "the host port's binding"

    # (c) nothing cgcloud does not manage
    ids = {e["id"] for e in entries}
    foreign_rules = {x["id"] for x in world.rules_of(other_group["id"])}
    default_groups = {
        g["id"]
        for g in world.engine.call("network", "GET", "/security-groups")["security_groups"]
        if g["name"] == "default"
    }
    assert other_group["id"] not in ids and not ids & foreign_rules
    assert not ids & default_groups
    assert other_project["id"] not in ids and spare["id"] not in ids
    assert world.port(spare["id"])["security_groups"], "the spare port has a group, not ours"
    # nor listed on stderr among cgcloud's resources the program does not declare
    for foreign in (spare["id"], other_group["id"], other_project["id"], *foreign_rules):
        assert foreign not in r.stderr
    assert not any(i.startswith(other_project["id"] + "/") for i in ids)


def test_bad_input_changes_nothing_and_gets_the_usage_code(iworld: World, tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "import.json"
    r = _import_file(iworld, out)
    assert r.exit_code == 64 and not out.exists()
    r = _import_file(iworld, tmp_path / "x.json", "--now", "2027-13-45")
    assert r.exit_code == 64 and not (tmp_path / "x.json").exists()


@pytest.mark.skipif(
    PULUMI is None,
    reason="the Pulumi CLI is not installed (shutil.which('pulumi') found nothing): "
    "`pulumi import` is a CLI command",
)
def test_pulumi_import_adopts_the_file_and_the_next_preview_changes_nothing(
    iworld: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file as Pulumi reads it: `pulumi import --file` (through the Automation API's
    ``import_resources``, which writes the same ``resources`` list to a file and runs it)
    on a new stack over the cloud cgcloud made, then a preview: no change."""
    from cgcloud import engines
    from cgcloud.engines.pulumi.workspace import open_stack

    world = iworld
    _applied(world)
    out = tmp_path / "import.json"
    r = _import_file(world, out)
    assert r.exit_code == 0, r.output
    resources = json.loads(out.read_text(encoding="utf-8"))["resources"]

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-only")
    monkeypatch.setenv("CGCLOUD_PULUMI_DIR", str(tmp_path / "pulumi"))
    options = {"stack": f"t{uuid.uuid4().hex[:8]}", "backend": (tmp_path / "state").as_uri()}
    engine: Any = engines.create(
        "pulumi", "devcloud", audit_path=tmp_path / "audit.jsonl", options=options
    )
    state = world.desired()
    actual = engine.read(state)
    stack = open_stack(engine.settings, "devcloud", lambda: None)
    stack.import_resources(resources=resources, protect=False, generate_code=False)
    plan = engine.preview(state, actual)
    assert not plan.has_changes, [(c.action, c.kind, c.name) for c in plan.changes]
