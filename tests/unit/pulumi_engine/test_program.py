"""The Pulumi program declares exactly the compiled desired state (under Pulumi's mocks)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pulumi_openstack", reason="the pulumi extra is not installed")

from cgcloud import clock, desired  # noqa: E402
from cgcloud.engines.pulumi import names  # noqa: E402
from cgcloud.engines.pulumi.program import Resolution, declare  # noqa: E402
from cgcloud.validate import load_repository  # noqa: E402

from .mocks import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
SYSTEM = "智慧城管综合平台"
NETWORK_POLICY = POLICIES / SYSTEM / "network-policy.yaml"


def compile_at(path: Path, now: str) -> desired.DesiredState:
    repo, _, _ = load_repository([path])
    return desired.compile(repo, clock.now_local(now))


def rule_tuples(recorder) -> set[tuple]:  # type: ignore[no-untyped-def]
    groups = {f"{d.name}-id": d.inputs["description"] for d in recorder.of_type("SecGroup")}
    return {
        (
            desired.group_marker(groups[d.inputs["securityGroupId"]]),
            d.inputs["direction"],
            d.inputs["ethertype"],
            d.inputs.get("protocol"),
            d.inputs.get("portRangeMin"),
            d.inputs.get("portRangeMax"),
            d.inputs["remoteIpPrefix"],
            d.inputs["description"],
        )
        for d in recorder.of_type("SecGroupRule")
    }


def wanted_tuples(state: desired.DesiredState, ips: dict) -> set[tuple]:  # type: ignore[type-arg]
    out = set()
    for r in state.rules:
        remotes = (
            [f"{ip}/32" for ip in ips.get((r.system, r.remote_placeholder), [])]
            if r.remote_placeholder
            else [r.remote_cidr or "0.0.0.0/0"]
        )
        for remote in remotes:
            out.add(
                (
                    r.group,
                    r.direction,
                    r.ethertype,
                    r.protocol,
                    r.port_min,
                    r.port_max,
                    remote,
                    r.description,
                )
            )
    return out


def test_example_repository_declares_the_desired_state() -> None:
    state = compile_at(POLICIES, "2027-01-15T10:00")
    ips = {(SYSTEM, "智慧城管-数据库"): ["172.21.4.31"]}
    rec, declared = run(lambda: declare(state, Resolution(placeholder_ips=ips)))

    [project] = rec.of_type("identity/project:Project")
    want = state.projects[0]
    assert project.inputs["name"] == want.name
    assert project.inputs["tags"] == want.tags
    assert project.inputs["description"] == want.description

    [compute] = rec.of_type("QuotaSetV2")
    assert (compute.inputs["instances"], compute.inputs["cores"], compute.inputs["ram"]) == (
        want.quotas.instances,
        want.quotas.cores,
        want.quotas.ram_mb,
    )
    [volume] = rec.of_type("QuoteSetV3")
    assert volume.inputs["gigabytes"] == want.quotas.gigabytes
    assert volume.inputs.get("volumeTypeQuota", {}) == {
        f"gigabytes_{t}": str(gb) for t, gb in want.quotas.gigabytes_by_tier.items()
    }
    [network] = rec.of_type("QuotaV2")
    assert (network.inputs["securityGroup"], network.inputs["securityGroupRule"]) == (
        want.quotas.security_groups,
        want.quotas.security_group_rules,
    )

    assert sorted(d.inputs["name"] for d in rec.of_type("Flavor")) == [
        f.name for f in state.flavors
    ]
    assert sorted(
        desired.group_marker(d.inputs["description"]) or "" for d in rec.of_type("SecGroup")
    ) == sorted(g.key for g in state.groups)
    assert rule_tuples(rec) == wanted_tuples(state, ips)
    # every rule is declared in its group's project, after that project's rule quota
    assert all(
        d.inputs["tenantId"] == f"{names.project(SYSTEM)}-id" for d in rec.of_type("SecGroupRule")
    )
    assert declared.unresolved == [f"{SYSTEM}: {g.name} — 尚无端口可绑定" for g in state.groups]


def test_unresolved_placeholder_is_listed_not_guessed() -> None:
    state = compile_at(POLICIES, "2027-01-15T10:00")
    rec, declared = run(lambda: declare(state))
    placeholder_rules = [r for r in state.rules if r.remote_placeholder]
    assert placeholder_rules, "the example repository has a placeholder row"
    assert rule_tuples(rec) == wanted_tuples(state, {})
    assert sum("占位主机" in u for u in declared.unresolved) == len(placeholder_rules)


def test_bindings_attach_the_groups_to_the_ports() -> None:
    state = compile_at(POLICIES, "2027-01-15T10:00")
    keys = [g.key for g in state.groups][:2]
    rec, declared = run(lambda: declare(state, Resolution(bindings={"port-a": keys})))
    [binding] = rec.of_type("PortSecGroupAssociate")
    assert binding.name == names.binding("port-a")
    assert binding.inputs["portId"] == "port-a"
    assert binding.inputs["enforce"] is False
    assert sorted(binding.inputs["securityGroupIds"]) == sorted(
        f"{names.group(k)}-id" for k in keys
    )


@pytest.mark.parametrize(
    ("now", "open_"),
    [("2027-01-31T23:59:59", True), ("2027-02-01T00:00:00", False)],
)
def test_high_risk_rules_follow_the_window_edge(now: str, open_: bool) -> None:
    """Asia/Shanghai: the January-only SSH rows are declared until 23:59:59 on the 31st."""
    state = compile_at(POLICIES, now)
    rec, _ = run(lambda: declare(state))
    ssh = [d for d in rec.of_type("SecGroupRule") if d.inputs.get("portRangeMin") == 22]
    assert bool(ssh) is open_
    assert len(rec.of_type("SecGroupRule")) == len(
        [r for r in state.rules if not r.remote_placeholder]
    )


def test_names_survive_reordered_rows_and_a_renamed_file(tmp_path: Path) -> None:
    """Reordering rows and renaming a form's file replace nothing: every name stays."""
    before = compile_at(POLICIES, "2027-01-15T10:00")
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    text = NETWORK_POLICY.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = [i for i, line in enumerate(text) if line.lstrip().startswith("- {from:")]
    reordered = list(text)
    for i, j in zip(rows, reversed(rows), strict=True):
        reordered[i] = text[j]
    (copy / SYSTEM / "network-policy.yaml").unlink()
    (copy / SYSTEM / "网络策略-改名.yaml").write_text("".join(reordered), encoding="utf-8")
    after = compile_at(copy, "2027-01-15T10:00")
    assert [r.description for r in after.rules] != [r.description for r in before.rules]
    rec_a, _ = run(lambda: declare(before))
    rec_b, _ = run(lambda: declare(after))
    assert {d.name for d in rec_a.declared} == {d.name for d in rec_b.declared}


def test_volume_types_limit_tier_quotas() -> None:
    state = compile_at(POLICIES, "2027-01-15T10:00")
    tiers = sorted(state.projects[0].quotas.gigabytes_by_tier)
    assert tiers, "the example system approves volumes on a tier"
    rec, _ = run(lambda: declare(state, volume_types=tiers[1:]))
    [volume] = rec.of_type("QuoteSetV3")
    assert set(volume.inputs.get("volumeTypeQuota") or {}) == {f"gigabytes_{t}" for t in tiers[1:]}


def _run_entry_point(config: dict[str, str]):  # type: ignore[no-untyped-def]
    import runpy

    import pulumi

    entry = ROOT / "cgcloud" / "engines" / "pulumi" / "__main__.py"

    def body():  # type: ignore[no-untyped-def]
        pulumi.runtime.set_all_config(config)
        runpy.run_path(str(entry), run_name="__main__")
        from cgcloud.engines.pulumi.program import Declared

        return Declared()

    return run(body)


def test_entry_point_named_by_pulumi_yaml_declares_the_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pulumi.yaml's `main` runs the same program with the stack's config keys; with no
    cloud named it reads no ports and warns what stays unresolved."""
    import yaml

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert (ROOT / project["main"] / "__main__.py").is_file()
    stack = yaml.safe_load((ROOT / "stacks" / "Pulumi.devcloud.yaml").read_text(encoding="utf-8"))
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("OS_CLOUD", raising=False)
    config = {
        k: (v if isinstance(v, str) else json.dumps(v))
        for k, v in stack["config"].items()
        if not k.startswith("openstack:")
    }
    rec, _ = _run_entry_point(config)
    state = compile_at(POLICIES, stack["config"]["cgcloud:now"])
    assert len(rec.of_type("SecGroupRule")) == len(
        [r for r in state.rules if not r.remote_placeholder]
    )
    assert [d.inputs["name"] for d in rec.of_type("identity/project:Project")] == [SYSTEM]
    assert not rec.of_type("PortSecGroupAssociate")


def test_entry_point_refuses_a_repository_with_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pulumi

    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    bad = copy / SYSTEM / "network-policy.yaml"
    bad.write_text(
        bad.read_text(encoding="utf-8").replace("port: TCP443", "port: TCP99999", 1),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception) as caught:
        _run_entry_point({"cgcloud:policies": "policies", "cgcloud:now": "2027-01-15T10:00"})
    assert "表单校验未通过" in str(caught.value)
    assert isinstance(caught.value, pulumi.RunError) or "RunError" in repr(caught.value)


def test_groups_ignore_delete_default_rules_so_an_import_replaces_nothing() -> None:
    """Neutron cannot report `delete_default_rules` back, so an imported group would
    differ in it and changing it forces a replace: the program ignores changes to it."""
    import pulumi

    state = compile_at(POLICIES, "2027-01-15T10:00")
    seen: dict[str, list[str] | None] = {}

    def spy(args: pulumi.ResourceTransformationArgs) -> None:
        if args.type_.endswith("networking/secGroup:SecGroup"):
            seen[args.name] = args.opts.ignore_changes
        return None

    def body():  # type: ignore[no-untyped-def]
        pulumi.runtime.register_stack_transformation(spy)
        return declare(state, Resolution(placeholder_ips={}))

    run(body)
    assert set(seen) == {names.group(g.key) for g in state.groups}
    assert all(v == ["deleteDefaultRules"] for v in seen.values()), seen
