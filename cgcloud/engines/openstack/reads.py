"""The OpenStack engine's reads: the actual state in a fixed number of list calls.

Rules come embedded in the group list, ports and groups of every project in one
paginated list each (or of a scope's projects, a few ids per request), Neutron's
quotas in one list call; Nova and Cinder have no quota list, so one GET each per
project, run concurrently with the Neutron lists. What Neutron and Keystone call
things is turned into the core's words here (``neutron``, ``fingerprints``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.engines.openstack import fingerprints, neutron
from cgcloud.engines.openstack.api import SCOPE_CHUNK, Api
from cgcloud.engines.openstack.locks import LOCK_TAG


def read_services(api: Api) -> list[str]:
    """The kinds of service the catalog offers (after one bounded token request)."""
    api.authenticate()
    out = []
    for name, kind in (
        ("compute", "compute"),
        ("volume", "block-storage"),
        ("network", "network"),
    ):
        try:
            if api.conn.has_service(kind):
                out.append(name)
        except Exception:  # noqa: BLE001 - catalog lookups raise many kinds
            continue
    return out


def read_projects(api: Api) -> list[p.AProject]:
    """Every project but the lock leases (one Keystone list, with tags)."""
    body = api.call("identity", "GET", "/projects")
    return [
        p.AProject(
            x["id"],
            x["name"],
            fingerprints.other_tags(x.get("tags") or []),
            x.get("description") or "",
            x.get("domain_id", ""),
            fingerprints.recorded(x.get("tags") or []),
        )
        for x in body.get("projects", [])
        if LOCK_TAG not in (x.get("tags") or [])
    ]


def read(
    api: Api,
    concurrency: int,
    state: d.DesiredState | None = None,
    *,
    network_only: bool = False,
    projects: list[p.AProject] | None = None,
    scope: set[str] | None = None,
) -> p.ActualState:
    """Actual state: one paginated list per resource type, plus quotas per managed project.

    Rules come embedded in the group list (``fields=security_group_rules``): Neutron
    builds them from the group it has already loaded, ~1 ms per rule cheaper than its
    rule list API (benchmarks/README.md). Nova and Cinder quotas have no list API: their
    per-project GETs run on other services, concurrently with the Neutron lists.
    ``network_only``: Neutron's state and quotas only, no Nova/Cinder quotas, flavors or
    volume types (enforce acts on rules and groups; what it leaves out is apply's).
    ``projects``: the project list when the caller read it already. ``scope``: read
    Neutron's groups, rules, ports and quotas of these systems' projects only (the
    result says so in ``ActualState.scope``; enforce leaves settled systems out)."""
    start = api.requests
    services = read_services(api)
    a = p.ActualState(services=services, scope=scope)
    a.projects = list(projects) if projects is not None else read_projects(api)
    wanted = a.projects_to_read(state)
    per_project: list[str] = (
        [] if network_only else [s for s in ("compute", "volume") if s in services]
    )
    with ThreadPoolExecutor(1) as background:
        pending = background.submit(read_all_quotas, api, wanted, per_project, concurrency)
        try:
            _read_network(api, a, wanted, concurrency)
        finally:
            per_project_quotas = pending.result()
    for pid, values in per_project_quotas.items():
        a.quotas.setdefault(pid, {}).update(values)
    if "compute" in services and not network_only:
        body = api.call(
            "compute",
            "GET",
            "/flavors/detail",
            params={"is_public": "None"},
            microversion="2.55",
        )
        for x in body.get("flavors", []):
            a.flavors.append(
                p.AFlavor(
                    x["id"],
                    x["name"],
                    int(x["vcpus"]),
                    int(x["ram"]),
                    int(x["disk"]),
                    x.get("description") or "",
                )
            )
    if "volume" in services and not network_only:
        body = api.call("volume", "GET", "/types")
        a.volume_types = [t["name"] for t in body.get("volume_types", [])]
    a.requests = api.requests - start
    return a


def _read_network(api: Api, a: p.ActualState, project_ids: list[str], concurrency: int) -> None:
    """Groups with their rules, ports, and the Neutron quotas of ``project_ids``
    (groups and ports of every project, or of ``project_ids`` only when the read
    is scoped)."""
    owned = p.managed_projects_by_id(a.projects)
    for x in api.scoped_pages(
        "security-groups",
        a.scope is not None,
        project_ids,
        {"fields": ["id", "name", "project_id", "tags", "description", "security_group_rules"]},
    ):
        g = p.AGroup(
            x["id"],
            x.get("name", ""),
            x.get("project_id", ""),
            list(x.get("tags") or []),
            x.get("description") or "",
        )
        a.groups.append(g)
        # rules of unmanaged groups are never changed: kept apart, for reports
        into = a.rules if p.group_identity(g, owned) is not None else a.foreign_rules
        into.extend(neutron.rule(r, g.id) for r in x.get("security_group_rules") or [])
    for x in api.scoped_pages(
        "ports",
        a.scope is not None,
        project_ids,
        {
            "fields": [
                "id",
                "project_id",
                "fixed_ips",
                "security_groups",
                "tags",
                "device_owner",
                "name",
            ]
        },
    ):
        a.ports.append(
            p.APort(
                x["id"],
                x.get("project_id", ""),
                [ip["ip_address"] for ip in x.get("fixed_ips") or []],
                list(x.get("security_groups") or []),
                list(x.get("tags") or []),
                neutron.is_infrastructure(x.get("device_owner")),
                x.get("name") or "",
            )
        )
    if "network" in a.services:
        for pid, values in read_all_quotas(api, project_ids, ["network"], concurrency).items():
            a.quotas.setdefault(pid, {}).update(values)


def read_all_quotas(
    api: Api, project_ids: list[str], services: list[str], concurrency: int
) -> dict[str, dict[str, int]]:
    """Quotas of many projects: Neutron's in one list call (projects absent from it
    have the defaults: one more GET); Nova and Cinder have no list API, so one GET
    each per project, run with bounded concurrency."""
    out: dict[str, dict[str, int]] = {pid: {} for pid in project_ids}
    if not project_ids:
        return out
    if "network" in services:
        listed = {
            q.get("project_id") or q.get("tenant_id"): q
            for q in api.call("network", "GET", "/quotas").get("quotas", [])
        }
        default = None
        for pid in project_ids:
            q = listed.get(pid)
            if q is None:
                if default is None:
                    default = api.call("network", "GET", f"/quotas/{pid}/default")["quota"]
                q = default
            out[pid].update(_neutron_quota(q))
    per_project: list[str] = [s for s in ("compute", "volume") if s in services]
    if per_project:
        with ThreadPoolExecutor(concurrency) as pool:
            for pid, values in pool.map(
                lambda pid: (pid, read_quotas(api, pid, per_project)), project_ids
            ):
                out[pid].update(values)
    return out


def read_quotas(api: Api, project_id: str, services: list[str]) -> dict[str, int]:
    """One project's quotas of ``services`` (a GET per service)."""
    out: dict[str, int] = {}
    if "compute" in services:
        q = api.call("compute", "GET", f"/os-quota-sets/{project_id}")["quota_set"]
        out.update(instances=q["instances"], cores=q["cores"], ram_mb=q["ram"])
    if "volume" in services:
        q = api.call("volume", "GET", f"/os-quota-sets/{project_id}")["quota_set"]
        out.update({k: v for k, v in q.items() if k.startswith("gigabytes")})
    if "network" in services:
        out.update(_neutron_quota(api.call("network", "GET", f"/quotas/{project_id}")["quota"]))
    return out


def read_placeholder_ports(api: Api, names: list[str]) -> list[p.APort]:
    """The ports tagged with any of these placeholders (``tags-any``, a few names per
    request): what enforce needs to know whether a placeholder's resolution changed."""
    out: list[p.APort] = []
    for i in range(0, len(names), SCOPE_CHUNK):
        tags = ",".join(d.PLACEHOLDER_TAG + n for n in names[i : i + SCOPE_CHUNK])
        for x in api.pages(
            "ports", {"tags-any": tags, "fields": ["id", "project_id", "fixed_ips", "tags"]}
        ):
            out.append(
                p.APort(
                    x["id"],
                    x.get("project_id", ""),
                    [ip["ip_address"] for ip in x.get("fixed_ips") or []],
                    tags=list(x.get("tags") or []),
                )
            )
    return out


def _neutron_quota(q: dict[str, Any]) -> dict[str, int]:
    return {
        "floating_ips": q["floatingip"],
        "security_groups": q["security_group"],
        "security_group_rules": q["security_group_rule"],
    }
