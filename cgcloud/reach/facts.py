"""The rows of the forms as ``Grant``s: plain, picklable data for the reach index.

Why a copy of the model and not the model itself: a query must answer in well under a
second at 50,000 rows, so the index is cached (``cache.py``), and the model objects
(documents, positions, findings) are neither small nor meant to be pickled. A grant
keeps exactly what a reach answer shows: where the row is, what it allows, when, on
whose signature, and whether it is approved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cgcloud import clock, grammar, model
from cgcloud.i18n import N_, _

Ranges = tuple[tuple[int, int], ...]
PortSpec = tuple[tuple[str, int, int], ...]  # (protocol, low, high); ICMP is 0-65535

# the status of a grant at a given instant
ACTIVE, LATER, CLOSED, UNAPPROVED = "active", "later", "closed", "unapproved"
STATUS_LABELS = {
    ACTIVE: N_("生效中"),
    LATER: N_("尚未生效"),
    CLOSED: N_("已过期"),
    UNAPPROVED: N_("未批准"),
}


@dataclass(frozen=True, slots=True)
class ZoneFact:
    """A zone as the index needs it: which addresses ``0.0.0.0`` means inside it."""

    id: str
    name: str
    internal: bool
    ranges: Ranges
    public: bool  # 互联网公网: any public address, no pool

    def holds(self, ip: int) -> bool:
        if self.public:
            return grammar.is_public(ip, ip)
        return not self.ranges or any(lo <= ip <= hi for lo, hi in self.ranges)


@dataclass(frozen=True, slots=True)
class End:
    """One end of a row (source or target): its zone and address cell, parsed."""

    zone: str
    zone_name: str
    text: str
    ranges: Ranges = ()
    any: bool = False
    placeholder: str | None = None

    @staticmethod
    def of(zone: model.Zone, addr: grammar.Address) -> End:
        return End(zone.id, zone.name, addr.text.strip(), addr.ranges, addr.any, addr.placeholder)


@dataclass(frozen=True, slots=True)
class Grant:
    """One row of a NetworkPolicy form: what it lets through, when, and on whose word."""

    form: str
    system: str
    row: int  # 1-based, as a reviewer counts rows
    file: str
    line: int
    column: int
    source: End
    target: End
    ports_text: str
    ports_any: bool
    ports: PortSpec
    start: date | None
    end: date | None
    high_risk: bool
    reviewers: tuple[tuple[str, str], ...]  # (role, name) of the signed boxes
    approved: bool
    why_not: str = ""  # why the row is not approved (Chinese, marked N_)
    note: str = ""

    @property
    def window(self) -> clock.Window | None:
        if self.start is None or self.end is None:
            return None
        return clock.Window(self.start, self.end)

    def status(self, at: datetime) -> str:
        """active / later / closed at ``at``; unapproved whatever the time."""
        window = self.window
        if not self.approved or window is None:
            return UNAPPROVED
        if window.contains(at):
            return ACTIVE
        return LATER if window.is_future(at) else CLOSED

    def opens(self, protocol: str | None, port: int | None) -> bool:
        """Whether the row's port cell lets ``protocol``/``port`` through (None = any)."""
        if self.ports_any:
            return True
        if protocol is None:
            return True
        return any(p == protocol and (port is None or lo <= port <= hi) for p, lo, hi in self.ports)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def pack(self) -> tuple[Any, ...]:
        """The grant as plain tuples, for marshal: 3× faster to read back than a pickle
        of the dataclasses (a pickle looks each class up again per object)."""
        s, t = self.source, self.target
        return (
            self.form, self.system, self.row, self.file, self.line, self.column,
            (s.zone, s.zone_name, s.text, s.ranges, s.any, s.placeholder),
            (t.zone, t.zone_name, t.text, t.ranges, t.any, t.placeholder),
            self.ports_text, self.ports_any, self.ports,
            self.start.toordinal() if self.start else 0, self.end.toordinal() if self.end else 0,
            self.high_risk, self.reviewers, self.approved, self.why_not, self.note,
        )  # fmt: skip

    @staticmethod
    def unpack(f: tuple[Any, ...]) -> Grant:
        return Grant(
            f[0], f[1], f[2], f[3], f[4], f[5], End(*f[6]), End(*f[7]), f[8], f[9], f[10],
            date.fromordinal(f[11]) if f[11] else None, date.fromordinal(f[12]) if f[12] else None,
            f[13], f[14], f[15], f[16], f[17],
        )  # fmt: skip


@dataclass(slots=True)
class Facts:
    """Everything the reach index is built from; picklable."""

    grants: list[Grant] = field(default_factory=list)
    zones: dict[str, ZoneFact] = field(default_factory=dict)
    bastions: frozenset[int] = frozenset()
    # system → year → public IPs approved (附件1 resources, approved forms only)
    public_ips: dict[str, dict[int, int]] = field(default_factory=dict)
    # what was not read: rows whose cells do not parse (form, row, file:line), and
    # the number of load/schema findings (documents left out)
    unparsed: list[tuple[str, int, str]] = field(default_factory=list)
    load_errors: int = 0


def collect(repo: model.Repository, load_errors: int = 0) -> Facts:
    """The grants of every NetworkPolicy row of ``repo`` (resolved), and the site model."""
    facts = Facts(load_errors=load_errors)
    if repo.zones is not None:
        facts.zones = {
            z.id: ZoneFact(z.id, z.name, z.internal, z.ranges, z.is_public)
            for z in repo.zones.zones
        }
        facts.bastions = frozenset(repo.zones.bastion_values)
    bundles: dict[str, list[model.ProjectApplication]] = {}
    for pa in repo.projects:
        for form_id, _at in pa.forms:
            bundles.setdefault(form_id, []).append(pa)
    for app in repo.applications:
        if app.approved:
            years = facts.public_ips.setdefault(app.system, {})
            years[app.year] = years.get(app.year, 0) + app.totals()["public_ip"]
    for policy in repo.policies:
        bundled_ok = all(pa.complete for pa in bundles.get(policy.id, []))
        reviewers = tuple(
            (role, sig.by) for role, sig in policy.reviewers.items() if sig.by is not None
        )
        for row in policy.rules:
            pos = row.at.doc.locate(row.at.path)
            if not row.parsed:
                facts.unparsed.append((policy.id, row.number, f"{row.at.file}:{pos.line}"))
                continue
            assert row.from_zone and row.to_zone and row.source and row.target and row.ports
            window = policy.window_of(row)
            why_not = _why_not(policy, row, window, bundled_ok)
            facts.grants.append(
                Grant(
                    form=policy.id,
                    system=policy.system,
                    row=row.number,
                    file=row.at.file,
                    line=pos.line,
                    column=pos.column,
                    source=End.of(row.from_zone, row.source),
                    target=End.of(row.to_zone, row.target),
                    ports_text=row.port_text.strip(),
                    ports_any=row.ports.any,
                    ports=tuple((e.protocol, e.low, e.high) for e in row.ports.entries),
                    start=window.start if window else None,
                    end=window.end if window else None,
                    high_risk=policy.is_high_risk(row),
                    reviewers=reviewers,
                    approved=not why_not,
                    why_not=why_not,
                    note=row.note,
                )
            )
    return facts


def _why_not(
    policy: model.NetworkPolicy, row: model.Row, window: clock.Window | None, bundled_ok: bool
) -> str:
    """Empty when the row is approved the way `cgcloud apply` requires (desired.py)."""
    from cgcloud import desired  # only when the index is built (import cost on every query)

    if window is None:
        return N_("没有使用期")
    if not desired.row_approved(policy, row):
        return N_("审核人签字不全（高危行须三人签字且互不相同，均不晚于使用期起始日）")
    if not bundled_ok:
        return N_("打包它的开通申请单（附件4）尚未四方签字")
    return ""


def grant_dict(g: Grant, at: datetime) -> dict[str, Any]:
    """A grant as JSON-ready data (the ``json`` format's row object)."""
    status = g.status(at)
    return {
        "form": g.form,
        "system": g.system,
        "row": g.row,
        "file": g.file,
        "line": g.line,
        "column": g.column,
        "from": g.source.zone,
        "from_name": g.source.zone_name,
        "source": g.source.text,
        "to": g.target.zone,
        "to_name": g.target.zone_name,
        "target": g.target.text,
        "ports": g.ports_text,
        "window": {"start": g.start.isoformat(), "end": g.end.isoformat()}
        if g.start and g.end
        else None,
        "high_risk": g.high_risk,
        "reviewers": {role: name for role, name in g.reviewers},
        "approved": g.approved,
        "why_not": _(g.why_not) if g.why_not else "",
        "status": status,
        "note": g.note,
    }
