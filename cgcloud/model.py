"""The typed forms: schema-valid documents turned into small, position-aware objects.

Every object keeps ``at`` — (document, path) — so a rule can point a finding at
the exact key or row without knowing anything about YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from cgcloud import clock, grammar
from cgcloud.i18n import _
from cgcloud.loader import Document, Unloaded

API_VERSION = "cgcloud/v1"
T = TypeVar("T")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class At:
    """A place in a document: the node at ``path`` (keys/indexes from the root)."""

    doc: Document
    path: Path_ = ()

    def __truediv__(self, step: str | int) -> At:
        return At(self.doc, self.path + (step,))

    @property
    def file(self) -> str:
        return self.doc.file


# --------------------------------------------------------------------------- shared parts


@dataclass(slots=True)
class Signature:
    """A signature box. ``by is None`` means unsigned (absent, null, or no ``by``)."""

    role: str
    at: At
    by: str | None = None
    date: date | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def signed(self) -> bool:
        return self.by is not None


@dataclass(slots=True)
class Section:
    """``spec.normal`` / ``spec.high_risk`` of a NetworkPolicy: reason and period."""

    at: At
    reason: str
    window: clock.Window | None
    exception: Signature | None = None
    exception_reason: str = ""
    period_given: bool = False  # a period mapping was written (it may still be unreadable)

    def missing(self) -> list[str]:
        """What the section lacks: reason and/or period (an unreadable period is
        CG013/CG014's business, not "missing")."""
        out = []
        if not self.reason.strip():
            out.append(_("理由 reason"))
        if self.window is None and not self.period_given:
            out.append(_("使用期 period"))
        return out


# --------------------------------------------------------------------------- kinds


@dataclass(slots=True)
class Zone:
    id: str
    name: str
    internal: bool
    cidrs: list[str]
    ranges: tuple[tuple[int, int], ...]
    at: At

    @property
    def is_public(self) -> bool:
        """The 互联网公网 zone: any public address, no pool."""
        return not self.internal and not self.cidrs


@dataclass(slots=True)
class Bastion:
    zone: str
    address: str
    value: int
    at: At


@dataclass(slots=True)
class Zones:
    at: At
    zones: list[Zone]
    flows: list[tuple[str, str, At]]
    default_egress: list[tuple[str, str, At]]
    bastions: list[Bastion]
    by_ref: dict[str, Zone] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for z in self.zones:
            self.by_ref.setdefault(z.id, z)
            self.by_ref.setdefault(z.name, z)

        # flows/default_egress/bastions may name a zone by id or Chinese name (schema);
        # keep them by id so that lookups compare like with like. Unknown refs stay as
        # written (reported by CG100).
        def norm(ref: str) -> str:
            zone = self.by_ref.get(ref)
            return zone.id if zone is not None else ref

        self.flows = [(norm(f), norm(t), at) for f, t, at in self.flows]
        self.default_egress = [(norm(f), norm(t), at) for f, t, at in self.default_egress]
        for b in self.bastions:
            b.zone = norm(b.zone)

    def zone(self, ref: str) -> Zone | None:
        return self.by_ref.get(ref)

    def flow_allowed(self, a: Zone, b: Zone) -> bool:
        if a.id == b.id and a.internal:
            return True
        return any(f == a.id and t == b.id for f, t, _ in self.flows)

    def is_default_egress(self, a: Zone, b: Zone) -> bool:
        return any(f == a.id and t == b.id for f, t, _ in self.default_egress)

    @property
    def bastion_values(self) -> set[int]:
        return {b.value for b in self.bastions}


@dataclass(slots=True)
class HighRiskPort:
    ports: grammar.Ports | None
    name: str
    at: At


@dataclass(slots=True)
class HighRiskPorts:
    at: At
    max_source_prefix: int
    ports: list[HighRiskPort]
    _matches: dict[grammar.Ports, list[HighRiskPort]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def matches(self, ports: grammar.Ports) -> list[HighRiskPort]:
        """The entries of the list that ``ports`` intersects. Memoised per port cell:
        a repository has few distinct port cells, and every row asks (50,000 rows × the
        whole list was the single largest cost of validation). Callers must not mutate
        the returned list, nor ``self.ports`` after the first call."""
        found = self._matches.get(ports)
        if found is None:
            found = [p for p in self.ports if p.ports is not None and ports.intersects(p.ports)]
            self._matches[ports] = found
        return found


@dataclass(slots=True)
class Person:
    name: str
    roles: list[str]
    start: date | None
    end: date | None
    at: At

    def holds(self, role: str, day: date) -> bool:
        return (
            role in self.roles
            and (self.start is None or self.start <= day)
            and (self.end is None or day <= self.end)
        )


@dataclass(slots=True)
class Roster:
    at: At
    people: list[Person]


@dataclass(slots=True)
class Form:
    """Common to the forms that carry ``metadata``."""

    kind: str
    id: str
    at: At
    metadata: dict[str, Any]

    @property
    def system(self) -> str:
        return str(self.metadata.get("system", ""))


@dataclass(slots=True)
class AnnualPlan(Form):
    department: str = ""
    year: int = 0
    vcpu: int = 0
    memory_gb: int = 0
    disk_gb: int = 0
    public_ip: int = 0


@dataclass(slots=True)
class Resource:
    type: str
    fields: dict[str, Any]
    at: At

    def count(self) -> int:
        return int(self.fields.get("count", 1))


@dataclass(slots=True)
class ResourceApplication(Form):
    type: str = "new"
    year: int = 0
    department: str = ""
    resources: list[Resource] = field(default_factory=list)
    approvals: dict[str, Signature] = field(default_factory=dict)
    expert_review: Signature | None = None
    operators: list[str] = field(default_factory=list)  # 运维人员 names (bastion rules)

    @property
    def approved(self) -> bool:
        final = self.approvals.get("final")
        return final is not None and final.signed

    def totals(self) -> dict[str, int]:
        """vCPU, memory, disk (system disks × count + volumes) and public IPs granted."""
        t = {"vcpu": 0, "memory_gb": 0, "disk_gb": 0, "public_ip": 0}
        for r in self.resources:
            f = r.fields
            if r.type == "server":
                n = r.count()
                t["vcpu"] += int(f.get("vcpu", 0)) * n
                t["memory_gb"] += int(f.get("memory_gb", 0)) * n
                t["disk_gb"] += int(f.get("system_disk_gb", 0)) * n
            elif r.type == "volume":
                t["disk_gb"] += int(f.get("size_gb", 0))
            elif r.type == "public_ip":
                t["public_ip"] += r.count()
        return t


@dataclass(slots=True)
class Row:
    """One row of a network-policy form, with its cells parsed (None when unparseable)."""

    index: int
    at: At
    from_ref: str
    source_text: str
    to_ref: str
    target_text: str
    port_text: str
    note: str
    from_zone: Zone | None = None
    to_zone: Zone | None = None
    source: grammar.Address | None = None
    target: grammar.Address | None = None
    ports: grammar.Ports | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def number(self) -> int:
        """1-based row number, as a reviewer counts rows on the form."""
        return self.index + 1

    @property
    def parsed(self) -> bool:
        # identity tests: ``None in (...)`` would call the dataclasses' __eq__ (hot: every rule asks)
        return not self.errors and not (
            self.from_zone is None
            or self.to_zone is None
            or self.source is None
            or self.target is None
            or self.ports is None
        )


@dataclass(slots=True)
class NetworkPolicy(Form):
    applicant: dict[str, Any] = field(default_factory=dict)
    normal: Section | None = None
    high_risk: Section | None = None
    reviewers: dict[str, Signature] = field(default_factory=dict)
    rules: list[Row] = field(default_factory=list)
    high_risk_rows: set[int] = field(default_factory=set)

    def is_high_risk(self, row: Row) -> bool:
        return row.index in self.high_risk_rows

    def window_of(self, row: Row) -> clock.Window | None:
        section = self.high_risk if self.is_high_risk(row) else self.normal
        return section.window if section else None


@dataclass(slots=True)
class ShutdownNotice(Form):
    hosts: list[tuple[str, At]] = field(default_factory=list)
    all_hosts: bool = False
    tech_division: Signature | None = None
    business_division: Signature | None = None
    operator: Signature | None = None
    shutdown_date: date | None = None
    prepare_by: date | None = None
    data_copied: bool = False
    commands: dict[str, Any] = field(default_factory=dict)  # before power-off (docs/enforce.md)


@dataclass(slots=True)
class ProjectApplication(Form):
    forms: list[tuple[str, At]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    signoffs: dict[str, Signature] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return str(self.metadata.get("project", ""))

    @property
    def complete(self) -> bool:
        return all((s := self.signoffs.get(r)) is not None and s.signed for r in PROJECT_SIGNOFFS)


PROJECT_SIGNOFFS = ("integrator", "supervisor", "project_manager", "cloud_provider")
APPROVAL_ORDER = ("department", "initial", "recheck", "final")
REVIEWER_ROLES = ("cloud_resource_manager", "business_leader", "cloud_resource_leader")


@dataclass(slots=True)
class Repository:
    """Every valid form of a policy repository, by kind."""

    zones: Zones | None = None
    high_risk_ports: HighRiskPorts | None = None
    roster: Roster | None = None
    plans: list[AnnualPlan] = field(default_factory=list)
    applications: list[ResourceApplication] = field(default_factory=list)
    policies: list[NetworkPolicy] = field(default_factory=list)
    shutdowns: list[ShutdownNotice] = field(default_factory=list)
    projects: list[ProjectApplication] = field(default_factory=list)
    zones_is_default: bool = False
    high_risk_is_default: bool = False
    unloaded: list[Unloaded] = field(default_factory=list)  # forms that failed to load

    def might_hold(self, kinds: str | tuple[str, ...], ident: str | None = None) -> bool:
        """True when a file or document that failed to load may hold a form of ``kinds``
        (naming ``ident``): a rule about a *missing* form then stays quiet, because the
        form is there but broken and already has its own finding."""
        wanted = (kinds,) if isinstance(kinds, str) else kinds
        return any(u.might_hold(wanted, ident) for u in self.unloaded)

    @property
    def forms(self) -> list[Form]:
        return [*self.plans, *self.applications, *self.policies, *self.shutdowns, *self.projects]

    def form(self, form_id: str) -> Form | None:
        for f in self.forms:
            if f.id == form_id:
                return f
        return None


# --------------------------------------------------------------------------- resolving rows


def resolve(repo: Repository) -> None:
    """Parse every row's cells and zones once, and mark the high-risk rows.

    Problems are kept on the row (``row.errors``: cell → Chinese message) for the
    address/zone rules to report; other rules look only at rows that ``parsed``.
    A row is high-risk when its target is in an internal zone and its ports
    intersect the HighRiskPorts list (``/`` intersects everything).
    """
    zones, hrp = repo.zones, repo.high_risk_ports
    for policy in repo.policies:
        policy.high_risk_rows.clear()
        for row in policy.rules:
            errors = row.errors
            errors.clear()
            if zones is not None:
                row.from_zone = zones.zone(row.from_ref)
                row.to_zone = zones.zone(row.to_ref)
                if row.from_zone is None:
                    errors["from"] = _("未知的区域 {zone}").format(zone=repr(row.from_ref))
                if row.to_zone is None:
                    errors["to"] = _("未知的区域 {zone}").format(zone=repr(row.to_ref))
            try:  # the common case, without a wrapper call per cell (50k rows: 150k cells)
                row.source = grammar.parse_address(row.source_text)
                row.target = grammar.parse_address(row.target_text)
                row.ports = grammar.parse_ports(row.port_text)
            except grammar.GrammarError:  # find out which cells, each with its message
                row.source = _parse(grammar.parse_address, row.source_text, errors, "source")
                row.target = _parse(grammar.parse_address, row.target_text, errors, "target")
                row.ports = _parse(grammar.parse_ports, row.port_text, errors, "port")
            if (
                hrp is not None
                and row.to_zone is not None
                and row.to_zone.internal
                and row.ports is not None
                and hrp.matches(row.ports)
            ):
                policy.high_risk_rows.add(row.index)


def _parse(parse: Callable[[str], T], text: str, errors: dict[str, str], cell: str) -> T | None:
    """``parse(text)``, or None with the problem noted under ``errors[cell]``."""
    try:
        return parse(text)
    except grammar.GrammarError as exc:
        errors[cell] = str(exc)
        return None
