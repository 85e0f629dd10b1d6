"""Pulumi's bulk import file for what cgcloud already made: `pulumi import --file FILE`.

Why: a cloud cgcloud manages holds thousands of resources (a rule each), and a team
moving it under Pulumi cannot write one `pulumi import` line per resource, nor find
the ids. This module runs the program (`program.declare`) offline under Pulumi's
mocks to learn every resource the stack would declare — its type token and logical
name, exactly as `pulumi up` registers them — and names each cgcloud-managed resource
of the cloud (the actual state the OpenStack engine read) the way the program does
(`names`), so the two meet by name and nothing is guessed.

The file format is Pulumi's own (pulumi/pulumi ``pkg/cmd/pulumi/operations/import.go``,
``importFile``/``importSpec``): ``{"resources": [{"type", "name", "id"}]}``; ``parent``,
``provider`` and ``nameTable`` are left out because the program declares every
resource at the stack's root with the default provider (``parent`` unset →
the stack). The import ids are pulumi-openstack's (the "## Import" section of each
resource's docstring in ``pulumi_openstack``, 5.5): Project, Flavor, SecGroup,
SecGroupRule by their id; PortSecGroupAssociate by the port's id; the three quota
sets (compute ``QuotaSetV2``, blockstorage ``QuoteSetV3``, networking ``QuotaV2``)
by ``<project_id>/<region>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.engines.pulumi import names
from cgcloud.engines.pulumi.program import Declared, declare
from cgcloud.engines.pulumi.resolve import resolution

QUOTA_SERVICES = ("compute", "volume", "network")  # names.quota's services: the program's


@dataclass(frozen=True, slots=True)
class Entry:
    """One resource of the import file (Pulumi's ``importSpec``: type, name, id)."""

    type: str
    name: str
    id: str


@dataclass(frozen=True, slots=True)
class Held:
    """A resource cgcloud manages on the cloud, named as the program would name it."""

    kind: str  # project | quota | flavor | group | rule | binding
    name: str
    id: str


@dataclass(slots=True)
class ImportFile:
    """What to import, and what the file does not cover (said to the user, never dropped)."""

    resources: list[Entry] = field(default_factory=list)
    absent: list[Entry] = field(default_factory=list)  # declared, not on the cloud (id "")
    undeclared: list[Held] = field(default_factory=list)  # cgcloud's on the cloud, not declared
    unresolved: list[str] = field(default_factory=list)  # the program's own notes
    conflicts: list[str] = field(default_factory=list)  # a same-named flavor cgcloud did not make

    def document(self) -> dict[str, Any]:
        """The JSON document `pulumi import --file` reads."""
        return {"resources": [{"type": e.type, "name": e.name, "id": e.id} for e in self.resources]}


def declared(
    state: d.DesiredState, actual: p.ActualState
) -> tuple[list[tuple[str, str]], Declared]:
    """(type token, logical name) of every resource the program declares over ``state``
    with the cloud's ports and volume types, as `pulumi up` would register them.

    The program runs under Pulumi's mocks (``pulumi.runtime.set_mocks``, Pulumi's offline
    unit-test path): no CLI, no engine, no cloud call; the ids the mocks hand back are
    never used.
    """
    res = resolution(state, actual)
    types = list(actual.volume_types)
    pulumi.runtime.set_mocks(_Mocks(), project="cgcloud", stack="import", preview=False)
    out: dict[str, Declared] = {}

    @pulumi.runtime.test  # type: ignore[misc]
    def program() -> pulumi.Output[Any]:
        out["declared"] = declare(state, res, volume_types=types)
        return pulumi.Output.all(*[r.urn for r in out["declared"].resources.values()])

    program()
    decl = out["declared"]
    return [(r.pulumi_resource_type, r.pulumi_resource_name) for r in decl.resources.values()], decl


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-mock", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


def held(actual: p.ActualState, region: str) -> tuple[list[Held], list[str]]:
    """Every resource cgcloud manages on ``actual``, named as the program names it, with
    its pulumi-openstack import id; and the flavors whose name only is cgcloud's."""
    out: list[Held] = []
    projects = p.managed_projects_by_id(actual.projects)
    for pid, system in sorted(projects.items(), key=lambda kv: kv[1]):
        out.append(Held("project", names.project(system), pid))
        for service in QUOTA_SERVICES:
            if service in actual.services:
                out.append(Held("quota", names.quota(system, service), f"{pid}/{region}"))
    foreign: list[str] = []
    for f in actual.flavors:
        if f.description.startswith("cgcloud: "):  # the mark cgcloud's flavors carry
            out.append(Held("flavor", names.flavor(f.name), f.id))
        else:
            foreign.append(f.name)
    keys: dict[str, str] = {}
    for g in actual.groups:
        ident = p.group_identity(g, projects)
        if ident is not None:
            keys[g.id] = ident[0]
            out.append(Held("group", names.group(ident[0]), g.id))
    for r in actual.rules:
        key = keys.get(r.group_id)
        if key is None:
            continue
        if r.remote_group_id:  # cgcloud writes CIDRs only: such a rule is never declared
            name = f"rule-{key}-remote-group-{r.remote_group_id}"
        else:
            remote = r.remote_cidr or p.ANY.get(r.ethertype, "")
            name = names.rule_of(
                key, r.direction, r.ethertype, r.protocol, r.port_min, r.port_max, remote
            )
        out.append(Held("rule", name, r.id))
    for port in actual.ports:
        if any(gid in keys for gid in port.group_ids):
            out.append(Held("binding", names.binding(port.id), port.id))
    return out, foreign


def build(state: d.DesiredState, actual: p.ActualState, region: str) -> ImportFile:
    """The import file for ``state`` on ``actual`` (read in full), the cloud in ``region``."""
    decl, program = declared(state, actual)
    have, foreign = held(actual, region)
    by_name: dict[str, Held] = {}
    result = ImportFile(unresolved=list(program.unresolved))
    for h in have:
        if h.name in by_name:  # two cloud resources one name (a duplicate rule): import one
            result.undeclared.append(h)
        else:
            by_name[h.name] = h
    wanted = {name for _, name in decl}
    for typ, name in decl:
        found = by_name.get(name)
        if found is None:
            result.absent.append(Entry(typ, name, ""))
        else:
            result.resources.append(Entry(typ, name, found.id))
    result.undeclared.extend(h for name, h in by_name.items() if name not in wanted)
    flavors = {f.name for f in state.flavors}
    result.conflicts = sorted(n for n in foreign if n in flavors)
    return result
