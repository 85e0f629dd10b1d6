"""The actual state an engine read from a cloud, as plain data (no SDK objects).

Engine-neutral: the diff (plan.py), the time-driven actions (enforce.py) and the
metrics (exporter.py) compute on these types only, so every engine — OpenStack,
the in-memory reference engine, a declarative one — hands over the same shapes.
The identity helpers (which project is cgcloud's, which system it holds) read the
marks that `desired` defines; an engine stores them as it can (Keystone tags,
descriptions) and reads them back into these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cgcloud import desired as d


@dataclass(slots=True)
class AProject:
    id: str
    name: str
    tags: list[str] = field(default_factory=list)
    description: str = ""
    domain_id: str = "default"
    # the rule fingerprints recorded on the project (normally one; none = read in full);
    # how they are stored is the engine's business (OpenStack: a Keystone tag each)
    fingerprints: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AGroup:
    id: str
    name: str
    project_id: str
    tags: list[str] = field(default_factory=list)
    description: str = ""


@dataclass(slots=True)
class ARule:
    id: str
    group_id: str
    direction: str
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_min: int | None = None
    port_max: int | None = None
    remote_cidr: str | None = None
    remote_group_id: str | None = None
    description: str = ""


@dataclass(slots=True)
class APort:
    id: str
    project_id: str
    ips: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    # the cloud's own port (a router interface, DHCP): never a host a form's CIDR means;
    # each engine knows its own (engines/openstack/neutron.py: Neutron's device owner)
    infrastructure: bool = False
    name: str = ""


@dataclass(slots=True)
class AFlavor:
    id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    description: str = ""


@dataclass(slots=True)
class ActualState:
    """What an engine read from the cloud, as plain data (no SDK objects)."""

    projects: list[AProject] = field(default_factory=list)
    groups: list[AGroup] = field(default_factory=list)
    rules: list[ARule] = field(default_factory=list)  # of cgcloud's groups
    foreign_rules: list[ARule] = field(default_factory=list)  # of other groups: never changed
    ports: list[APort] = field(default_factory=list)
    flavors: list[AFlavor] = field(default_factory=list)
    quotas: dict[str, dict[str, int]] = field(default_factory=dict)  # project id → key → value
    volume_types: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=lambda: ["compute", "volume", "network"])
    requests: int = 0
    # the systems whose Neutron resources (groups, rules, ports, quotas) were read; None =
    # all. The diff draws no conclusion about a system outside it (enforce skips settled ones)
    scope: set[str] | None = None

    def covers(self, system: str) -> bool:
        return self.scope is None or system in self.scope

    def projects_to_read(self, state: d.DesiredState | None) -> list[str]:
        """Ids of the managed projects a read fetches in detail: those of the desired
        state's systems (every managed one without a state), within the scope — the same
        choice for every engine."""
        systems = {x.system for x in state.projects} if state else set()
        out = []
        for proj in self.projects:
            system = _tag_value(proj.tags, d.SYSTEM_TAG)
            if not is_managed(proj.tags) or (state is not None and system not in systems):
                continue
            if self.covers(system or ""):
                out.append(proj.id)
        return out


# --------------------------------------------------------------------------- inventory
# what the decommission reads: servers, volumes, ports, floating IPs of some projects


@dataclass(slots=True)
class Server:
    id: str
    name: str
    project_id: str
    status: str  # ACTIVE | SHUTOFF | …
    ips: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    vcpus: int = 0
    ram_mb: int = 0
    disk_gb: int = 0
    flavor: str = ""
    task_state: str | None = None

    @property
    def running(self) -> bool:
        """Powered on and not on its way down (a stop we issued is still in flight)."""
        return self.status == "ACTIVE" and self.task_state != "powering-off"


@dataclass(slots=True)
class Volume:
    id: str
    name: str
    project_id: str
    size_gb: int
    status: str
    server_ids: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Port:
    id: str
    project_id: str
    device_id: str
    ips: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FloatingIP:
    id: str
    ip: str
    port_id: str | None
    project_id: str
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Inventory:
    """What an engine read for the decommission: plain data, no SDK objects."""

    projects: list[AProject] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    floating_ips: list[FloatingIP] = field(default_factory=list)
    groups: list[AGroup] = field(default_factory=list)
    quotas: dict[str, dict[str, int]] = field(default_factory=dict)

    def project_of(self, system: str) -> AProject | None:
        for proj in self.projects:
            if is_managed(proj.tags) and _tag_value(proj.tags, d.SYSTEM_TAG) == system:
                return proj
        return None


# --------------------------------------------------------------------------- identity


def _tag_value(tags: list[str], prefix: str) -> str | None:
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def is_managed(tags: list[str]) -> bool:
    return d.MANAGED_TAG in tags


def managed_projects_by_id(projects: list[AProject]) -> dict[str, str]:
    """Project id → system, for the projects cgcloud manages (tagged)."""
    out = {}
    for p in projects:
        system = _tag_value(p.tags, d.SYSTEM_TAG)
        if is_managed(p.tags) and system is not None:
            out[p.id] = system
    return out


def group_identity(g: AGroup, managed_projects: dict[str, str]) -> tuple[str, str] | None:
    """(group key, system) when the group is cgcloud's, else None.

    cgcloud's: tagged ``cgcloud:managed`` + ``cgcloud:group=`` (older applies), or
    inside a cgcloud-managed project with the key marker that `desired.group_description`
    writes at create. A group elsewhere with that marker is not ours (never touched).
    """
    key = _tag_value(g.tags, d.GROUP_TAG)
    if is_managed(g.tags) and key is not None:
        return key, _tag_value(g.tags, d.SYSTEM_TAG) or managed_projects.get(g.project_id, "")
    system = managed_projects.get(g.project_id)
    key = d.group_marker(g.description)
    if system is not None and key is not None:
        return key, system
    return None
