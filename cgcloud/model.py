"""The typed forms: schema-valid documents turned into small, position-aware objects.

Every object keeps ``at`` — (document, path) — so a rule can point a finding at
the exact key or row without knowing anything about YAML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from cgcloud import capping, clock, grammar
from cgcloud.findings import Finding, Severity
from cgcloud.loader import Document, Unloaded
from cgcloud.schemas import KINDS, check

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
            out.append("理由 reason")
        if self.window is None and not self.period_given:
            out.append("使用期 period")
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
        return all(
            (s := self.signoffs.get(r)) is not None and s.signed for r in PROJECT_SIGNOFFS
        )


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


# --------------------------------------------------------------------------- building


class _Builder:
    def __init__(self) -> None:
        self.repo = Repository()
        self.findings: list[Finding] = []
        # findings per (file, rule); past the cap only the first is located (a flow mapping
        # of 300,000 unknown keys costs one position, not 300,000: see capping.py)
        self.counts: dict[tuple[str, str], int] = {}
        self.omitted: dict[tuple[str, str], tuple[Finding, int]] = {}

    def finding(self, rule: str, at: At, message: str, hint: str = "", key: bool = False) -> None:
        slot = (at.file, rule)
        n = self.counts[slot] = self.counts.get(slot, 0) + 1
        if n > capping.MAX_PER_RULE:
            first = self.omitted.get(slot)
            if first is None:
                pos = at.doc.locate(at.path, key=key)
                f = Finding(rule, Severity.ERROR, message, at.file, pos.line, pos.column, hint)
                self.omitted[slot] = (f, 1)
            else:
                self.omitted[slot] = (first[0], first[1] + 1)
            return
        pos = at.doc.locate(at.path, key=key)
        self.findings.append(
            Finding(rule, Severity.ERROR, message, at.file, pos.line, pos.column, hint)
        )

    def _unloaded(self, doc: Document, kind: Any) -> None:
        kinds = frozenset([kind]) if isinstance(kind, str) and kind in KINDS else None
        self.repo.unloaded.append(Unloaded(doc.file, kinds, doc.source.text))

    def flush_omitted(self) -> None:
        for first, n in self.omitted.values():
            self.findings.append(capping.summary(first, n))
        self.omitted.clear()

    def date(self, value: Any, at: At) -> date | None:
        if value is None:
            return None
        try:
            return clock.parse_date(str(value))
        except clock.ClockError as exc:
            self.finding("CG013", at, str(exc))
            return None

    def signature(self, role: str, value: Any, at: At) -> Signature:
        sig = Signature(role=role, at=at)
        if isinstance(value, dict) and value.get("by"):
            sig.by = str(value["by"])
            sig.date = self.date(value.get("date"), at / "date")
            sig.fields = {k: v for k, v in value.items() if k not in ("by", "date")}
            if sig.date is None:
                sig.by = None
        return sig

    def window(self, period: Any, at: At) -> clock.Window | None:
        if not isinstance(period, dict):
            return None
        start = self.date(period.get("start"), at / "start")
        end = self.date(period.get("end"), at / "end")
        if start is None or end is None:
            return None
        if end < start:
            self.finding(
                "CG014",
                at / "end",
                f"使用期终止日期 {end} 早于起始日期 {start}",
                "请检查起止日期是否写反",
            )
            return None
        return clock.Window(start, end)

    # -- per kind ----------------------------------------------------------------------

    def add(self, doc: Document) -> None:
        data = doc.data
        root = At(doc)
        if not isinstance(data, dict):
            self._unloaded(doc, None)
            self.finding(
                "CG010",
                root,
                "文档不是一个表单（应为以 apiVersion 和 kind 开头的映射）",
                "每个文档应以 apiVersion: cgcloud/v1 和 kind: <表单类型> 开头",
            )
            return
        if data.get("apiVersion") != API_VERSION:
            self._unloaded(doc, data.get("kind"))
            self.finding(
                "CG010",
                root / "apiVersion",
                f"apiVersion 应为 {API_VERSION}，实际为 {data.get('apiVersion')!r}",
                f"请写 apiVersion: {API_VERSION}",
                key="apiVersion" not in data,
            )
            return
        kind = data.get("kind")
        if kind not in KINDS:
            self._unloaded(doc, None)
            self.finding(
                "CG010",
                root / "kind",
                f"未知的表单类型 kind: {kind!r}",
                "可用的类型: " + "、".join(KINDS),
                key="kind" not in data,
            )
            return
        problems = check(kind, data)
        if problems:
            self._unloaded(doc, kind)
            for p in problems:
                self.finding(p.rule, At(doc, p.path), p.message, _SCHEMA_HINT, key=p.key)
            return
        getattr(self, "add_" + _snake(kind))(root, data)

    def add_zones(self, at: At, d: dict[str, Any]) -> None:
        zones = []
        for i, z in enumerate(d.get("zones", [])):
            ranges: list[tuple[int, int]] = []
            for j, c in enumerate(z.get("cidrs", [])):
                try:
                    ranges.append(grammar.parse_cidr(c))
                except grammar.GrammarError as exc:
                    self.finding("CG107", at / "zones" / i / "cidrs" / j, str(exc))
            zones.append(
                Zone(
                    id=z["id"],
                    name=z.get("name", z["id"]),
                    internal=bool(z.get("internal", False)),
                    cidrs=list(z.get("cidrs", [])),
                    ranges=grammar.merge_ranges(ranges),
                    at=at / "zones" / i,
                )
            )
        bastions = []
        for i, b in enumerate(d.get("bastions", [])):
            try:
                value = grammar.ip_to_int(b["address"])
            except grammar.GrammarError as exc:
                self.finding("CG107", at / "bastions" / i / "address", str(exc))
                continue
            bastions.append(Bastion(b["zone"], b["address"], value, at / "bastions" / i))

        def pairs(key: str) -> list[tuple[str, str, At]]:
            return [(p[0], p[1], at / key / i) for i, p in enumerate(d.get(key, []))]

        zones_obj = Zones(at, zones, pairs("flows"), pairs("default_egress"), bastions)
        if self.repo.zones is not None:
            self.finding("CG021", at, "仓库中有多个 Zones 文件", "整个仓库只能有一个 Zones（站点模型）")
            return
        self.repo.zones = zones_obj

    def add_high_risk_ports(self, at: At, d: dict[str, Any]) -> None:
        ports = []
        for i, p in enumerate(d.get("ports", [])):
            try:
                parsed: grammar.Ports | None = grammar.parse_ports(p["port"])
            except grammar.GrammarError as exc:
                self.finding("CG108", at / "ports" / i / "port", str(exc))
                parsed = None
            ports.append(HighRiskPort(parsed, p.get("name", ""), at / "ports" / i))
        if self.repo.high_risk_ports is not None:
            self.finding("CG021", at, "仓库中有多个 HighRiskPorts 文件", "整个仓库只能有一个高危端口清单")
            return
        self.repo.high_risk_ports = HighRiskPorts(at, int(d.get("max_source_prefix", 24)), ports)

    def add_roster(self, at: At, d: dict[str, Any]) -> None:
        people = [
            Person(
                name=p["name"],
                roles=list(p.get("roles", [])),
                start=self.date(p.get("from"), at / "people" / i / "from"),
                end=self.date(p.get("to"), at / "people" / i / "to"),
                at=at / "people" / i,
            )
            for i, p in enumerate(d.get("people", []))
        ]
        if self.repo.roster is not None:
            self.repo.roster.people.extend(people)
        else:
            self.repo.roster = Roster(at, people)

    def _form(self, cls: type[Any], at: At, d: dict[str, Any], **kw: Any) -> Any:
        meta = d.get("metadata", {})
        return cls(kind=d["kind"], id=str(meta.get("id", "")), at=at, metadata=meta, **kw)

    def add_annual_plan(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        self.repo.plans.append(
            self._form(
                AnnualPlan,
                at,
                d,
                department=d["metadata"].get("department", ""),
                year=int(s["year"]),
                vcpu=int(s.get("vcpu", 0)),
                memory_gb=int(s.get("memory_gb", 0)),
                disk_gb=int(s.get("disk_gb", 0)),
                public_ip=int(s.get("public_ip", 0)),
            )
        )

    def add_resource_application(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        spec = at / "spec"
        approvals = {
            role: self.signature(role, (s.get("approvals") or {}).get(role), spec / "approvals" / role)
            for role in APPROVAL_ORDER
        }
        expert = s.get("expert_review")
        self.repo.applications.append(
            self._form(
                ResourceApplication,
                at,
                d,
                type=s.get("type", "new"),
                year=int(s["year"]),
                department=d["metadata"].get("department", ""),
                resources=[
                    Resource(r["type"], r, spec / "resources" / i)
                    for i, r in enumerate(s.get("resources", []))
                ],
                approvals=approvals,
                operators=[str(o.get("name", "")) for o in s.get("operators", [])
                           if isinstance(o, dict)],
                expert_review=(
                    self.signature("expert_review", expert, spec / "expert_review")
                    if expert is not None
                    else None
                ),
            )
        )

    def add_network_policy(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        spec = at / "spec"
        normal = high = None
        if isinstance(s.get("normal"), dict):
            n = s["normal"]
            normal = Section(
                spec / "normal",
                n.get("reason", ""),
                self.window(n.get("period"), spec / "normal" / "period"),
                period_given=isinstance(n.get("period"), dict),
            )
        if isinstance(s.get("high_risk"), dict):
            h = s["high_risk"]
            hat = spec / "high_risk"
            high = Section(
                hat,
                h.get("reason", ""),
                self.window(h.get("period"), hat / "period"),
                period_given=isinstance(h.get("period"), dict),
            )
            exc = h.get("exception")
            if isinstance(exc, dict):
                high.exception = self.signature("exception", exc, hat / "exception")
                high.exception_reason = str(exc.get("reason", ""))
        reviewers = {
            role: self.signature(role, (s.get("reviewers") or {}).get(role), spec / "reviewers" / role)
            for role in REVIEWER_ROLES
        }
        policy = self._form(
            NetworkPolicy, at, d, applicant=s.get("applicant", {}), normal=normal, high_risk=high,
            reviewers=reviewers,
        )
        rules_at = spec / "rules"
        policy.rules = [
            Row(
                index=i,
                at=rules_at / i,
                from_ref=str(r["from"]),
                source_text=str(r["source"]),
                to_ref=str(r["to"]),
                target_text=str(r["target"]),
                port_text=str(r["port"]),
                note=str(r.get("note", "")),
            )
            for i, r in enumerate(s.get("rules", []))
        ]
        self.repo.policies.append(policy)

    def add_shutdown_notice(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        spec = at / "spec"
        business = s.get("business_division") or {}
        operator = s.get("operator") or {}
        self.repo.shutdowns.append(
            self._form(
                ShutdownNotice,
                at,
                d,
                hosts=[(str(h), spec / "hosts" / i) for i, h in enumerate(s.get("hosts", []))],
                all_hosts=bool(s.get("all", False)),
                tech_division=self.signature("tech_division", s.get("tech_division"), spec / "tech_division"),
                business_division=self.signature("business_division", business, spec / "business_division"),
                operator=self.signature("operator", operator, spec / "operator"),
                shutdown_date=self.date(business.get("shutdown_date"), spec / "business_division" / "shutdown_date"),
                prepare_by=self.date(business.get("prepare_by"), spec / "business_division" / "prepare_by"),
                data_copied=bool(operator.get("data_copied", False)),
                commands=dict(s.get("commands") or {}),
            )
        )

    def add_project_application(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        spec = at / "spec"
        self.repo.projects.append(
            self._form(
                ProjectApplication,
                at,
                d,
                forms=[(str(f), spec / "forms" / i) for i, f in enumerate(s.get("forms", []))],
                accounts=list(s.get("accounts", [])),
                signoffs={
                    role: self.signature(role, (s.get("signoffs") or {}).get(role), spec / "signoffs" / role)
                    for role in PROJECT_SIGNOFFS
                },
            )
        )


_SCHEMA_HINT = "对照 schemas/ 中该表单的 JSON Schema（cgcloud schema <KIND>）修改"


def _snake(kind: str) -> str:
    out = ""
    for ch in kind:
        out += ("_" + ch.lower()) if ch.isupper() and out else ch.lower()
    return out


def build(
    documents: list[Document], failed: Iterable[Unloaded] = ()
) -> tuple[Repository, list[Finding]]:
    """Turn loaded documents into the typed repository; schema problems become findings.
    ``failed``: what the loader could not load (kept for ``Repository.might_hold``)."""
    b = _Builder()
    b.repo.unloaded.extend(failed)
    for doc in documents:
        b.add(doc)
    b.flush_omitted()
    return b.repo, b.findings


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
                    errors["from"] = f"未知的区域 {row.from_ref!r}"
                if row.to_zone is None:
                    errors["to"] = f"未知的区域 {row.to_ref!r}"
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
