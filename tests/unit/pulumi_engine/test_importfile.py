"""The bulk import file on the in-memory engine: each entry's id in pulumi-openstack's format.

The example repository is applied by the memory engine (the reference engine the
contract suite holds to the OpenStack engine's plans), with a host port and a
placeholder port; the file is built from what the engine reads back, and each id is
checked against the memory cloud's own tables. What the program declares comes from
the program run under Pulumi's mocks (tests/unit/pulumi_engine/mocks.py), not from
the module under test. The same checks on the real devcloud are in
tests/integration/test_pulumi_import.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pulumi_openstack", reason="the pulumi extra is not installed")

from cgcloud import clock, desired  # noqa: E402
from cgcloud import plan as planner  # noqa: E402
from cgcloud.engines.memory import MemoryEngine  # noqa: E402
from cgcloud.engines.pulumi import importfile  # noqa: E402
from cgcloud.engines.pulumi.program import declare  # noqa: E402
from cgcloud.engines.pulumi.resolve import resolution  # noqa: E402
from cgcloud.validate import load_repository  # noqa: E402

from .mocks import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
SYSTEM = "智慧城管综合平台"
NOW = "2027-01-15T10:00"
REGION = "RegionOne"
QUOTA_TYPES = {
    "openstack:compute/quotaSetV2:QuotaSetV2",
    "openstack:blockstorage/quoteSetV3:QuoteSetV3",
    "openstack:networking/quotaV2:QuotaV2",
}


def _state(engine: MemoryEngine) -> desired.DesiredState:
    repo, _, _ = load_repository([POLICIES])
    return desired.compile(repo, clock.now_local(NOW), engine.quota_room)


def _apply(engine: MemoryEngine) -> desired.DesiredState:
    state = _state(engine)
    actual = engine.read(state)
    outcome = engine.apply(state, planner.diff(state, actual, cloud="mem"), actual)
    assert not [s for s in outcome.steps if s.status != "done"]
    return state


@pytest.fixture
def applied() -> tuple[MemoryEngine, desired.DesiredState]:
    engine = MemoryEngine("mem")
    engine.state.volume_types = ["ssd", "sata"]
    _apply(engine)
    [pid] = [p.id for p in engine.state.projects.values() if p.name == SYSTEM]
    engine.add_port(pid, ["172.21.4.21"])
    engine.add_port(pid, ["172.21.4.30"], tags=[desired.PLACEHOLDER_TAG + "智慧城管-数据库"])
    return engine, _apply(engine)


def test_every_declared_resource_is_in_the_file_once_with_the_clouds_id(
    applied: tuple[MemoryEngine, desired.DesiredState],
) -> None:
    engine, state = applied
    actual = engine.read(state)
    result = importfile.build(state, actual, REGION)

    rec, _ = run(
        lambda: declare(state, resolution(state, actual), volume_types=actual.volume_types)
    )
    assert sorted((d.type, d.name) for d in rec.declared) == sorted(
        (e.type, e.name) for e in result.resources
    ), "every declared resource has exactly one entry (nothing absent after an apply)"
    assert not result.absent and not result.conflicts

    cloud = engine.state
    by_type: dict[str, list[importfile.Entry]] = {}
    for e in result.resources:
        by_type.setdefault(e.type.rsplit(":", 1)[1], []).append(e)
    [proj] = by_type["Project"]
    [pid] = [p.id for p in cloud.projects.values() if p.name == SYSTEM]
    assert proj.id == pid
    quotas = [e for e in result.resources if e.type in QUOTA_TYPES]
    assert sorted(e.type for e in quotas) == sorted(QUOTA_TYPES)
    assert {e.id for e in quotas} == {f"{pid}/{REGION}"}
    flavor_ids = {f.name: f.id for f in cloud.flavors.values()}
    for e in by_type["Flavor"]:
        assert e.id == flavor_ids[e.name.removeprefix("flavor-")]
    group_ids = {desired.group_marker(g.description): g.id for g in cloud.groups.values()}
    for e in by_type["SecGroup"]:
        assert e.id == group_ids[e.name.removeprefix("group-")]
    # each rule id is a rule of the cloud with the tuple the program declares under that name
    declared = {d.name: d.inputs for d in rec.of_type("SecGroupRule")}
    key_of = {gid: key for key, gid in group_ids.items()}
    assert len(by_type["SecGroupRule"]) == len(declared) > 5
    for e in by_type["SecGroupRule"]:
        r = cloud.rules[e.id]
        want = declared[e.name]
        assert want["securityGroupId"] == f"group-{key_of[r.group_id]}-id"  # the mocks' id
        assert (r.direction, r.protocol, r.port_min, r.port_max, r.remote_cidr) == (
            want["direction"],
            want.get("protocol"),
            want.get("portRangeMin"),
            want.get("portRangeMax"),
            want["remoteIpPrefix"],
        )
    bound = {p.id for p in cloud.ports.values() if p.group_ids}
    assert bound and {e.id for e in by_type["PortSecGroupAssociate"]} == bound
    for e in by_type["PortSecGroupAssociate"]:
        assert e.name == f"binding-{e.id}"
    assert result.document() == {
        "resources": [{"type": e.type, "name": e.name, "id": e.id} for e in result.resources]
    }


def test_what_cgcloud_does_not_manage_is_never_in_the_file(
    applied: tuple[MemoryEngine, desired.DesiredState],
) -> None:
    engine, state = applied
    other = engine.add_project("someone-elses")  # with its Neutron default group and rules
    [default] = [g for g in engine.state.groups.values() if g.project_id == other.id]
    port = engine.add_port(other.id, ["10.0.0.5"])
    port.group_ids.append(default.id)  # a port with someone else's group only
    actual = engine.read(state)
    result = importfile.build(state, actual, REGION)
    ids = {e.id for e in result.resources}
    foreign_groups = {g.id for g in engine.state.groups.values() if g.name == "default"}
    foreign_rules = {r.id for r in engine.state.rules.values() if r.group_id in foreign_groups}
    assert other.id not in ids and not ids & foreign_groups and not ids & foreign_rules
    assert port.id not in ids
    assert not any(e.id.startswith(other.id) for e in result.resources)
    listed = {h.id for h in result.undeclared}  # nor listed as cgcloud's
    assert not listed & (foreign_groups | foreign_rules | {port.id, other.id})


def test_a_fresh_cloud_imports_nothing_and_lists_what_pulumi_up_creates() -> None:
    engine = MemoryEngine("mem")
    state = _state(engine)
    result = importfile.build(state, engine.read(state), REGION)
    assert result.resources == [] and result.document() == {"resources": []}
    names = {e.name for e in result.absent}
    assert f"project-{SYSTEM}" in names and any(n.startswith("rule-") for n in names)
    assert all(e.id == "" for e in result.absent)


def test_a_cgcloud_rule_the_forms_no_longer_grant_is_listed_not_imported(
    applied: tuple[MemoryEngine, desired.DesiredState],
) -> None:
    """After the high-risk window closes the program no longer declares those rules: the
    cloud's copies are listed (a `pulumi up` would delete them), never imported."""
    engine, _ = applied
    later = desired.compile(
        load_repository([POLICIES])[0], clock.now_local("2027-02-15T10:00"), engine.quota_room
    )
    actual = engine.read(later)
    result = importfile.build(later, actual, REGION)
    gone = [h for h in result.undeclared if h.kind == "rule"]
    assert gone, "the SSH/MySQL rules of January are cgcloud's and undeclared in February"
    imported = {e.id for e in result.resources}
    assert not imported & {h.id for h in gone}
    assert all(engine.state.rules[h.id].port_min in (22, 3306) for h in gone)


def test_a_same_named_flavor_cgcloud_did_not_make_is_a_conflict_not_an_import() -> None:
    engine = MemoryEngine("mem")
    state = _state(engine)
    from cgcloud.actual import AFlavor

    fl = state.flavors[0]
    engine.state.flavors["f-x"] = AFlavor("f-x", fl.name, fl.vcpus, fl.ram_mb, fl.disk_gb, "")
    result = importfile.build(state, engine.read(state), REGION)
    assert fl.name in result.conflicts
    assert "f-x" not in {e.id for e in result.resources}
