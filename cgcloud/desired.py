"""compile(repo, now) → DesiredState: what the approved paperwork says the cloud must hold.

Pure and engine-neutral: plain dataclasses that serialise to JSON, computed
from the model and the clock only. Nothing here knows OpenStack's API; the
names below (project, quota keys, security group, rule tuple) are the common
vocabulary that an engine (openstacksdk, later Pulumi) realises. Things that
can only be known from the cloud (which port carries a placeholder, which
ports sit inside a CIDR) stay as *selectors* here and are resolved by the plan.

Mapping (docs/reconcile.md has the full story):

- a system with an approved ResourceApplication for the year of ``now`` →
  one project, tagged ``cgcloud:managed``, ``cgcloud:system=<system>``,
  ``cgcloud:status=formal|test``, with quotas summed over that year's approved
  ``new`` + ``expand`` forms;
- each distinct server spec → one flavor ``cg-<vcpu>c<mem>g<disk>d``;
- each NetworkPolicy row that is approved and whose window contains ``now`` →
  rules in security groups owned by cgcloud: one group per system per distinct
  internal address set (a target's or an internal source's CIDRs, or a
  placeholder). Ingress rules go to the target's group, egress rules to an
  internal source's group; one group may carry both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from cgcloud import clock, formats, grammar, model
from cgcloud.i18n import _

MANAGED_TAG = "cgcloud:managed"
SYSTEM_TAG = "cgcloud:system="
STATUS_TAG = "cgcloud:status="
GROUP_TAG = "cgcloud:group="
PLACEHOLDER_TAG = "cgcloud:placeholder="
# set by `cgcloud enforce` when a ShutdownNotice has reclaimed a whole system (docs/enforce.md)
DECOMMISSIONED_TAG = "cgcloud:decommissioned="
DESCRIPTION_PREFIX = "cgcloud "


@dataclass(frozen=True, slots=True)
class QuotaRoom:
    """What a cloud puts in a project by itself, which the project's group and rule
    quotas must leave room for. An engine declares it (``Engine.quota_room``; Neutron:
    a ``default`` group of four rules, two egress rules in each new group) and the
    caller passes it to ``compile``: the quotas are part of the plan, so the room is
    known before the diff rather than patched in by the engine after it."""

    groups: int = 0  # groups every project comes with
    rules: int = 0  # the rules of those
    rules_per_new_group: int = 0  # rules the cloud adds to each group it creates


NO_ROOM = QuotaRoom()  # the forms' own groups and rules only (no engine in sight)


@dataclass(frozen=True, slots=True, order=True)
class Reason:
    """Why a thing exists: the form, the row (0 for a whole form) and the window end."""

    form: str
    row: int = 0
    until: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Quotas:
    """Per-project quotas; keys are the engine-neutral names used in the plan."""

    instances: int = 0
    cores: int = 0
    ram_mb: int = 0
    gigabytes: int = 0
    gigabytes_by_tier: dict[str, int] = field(default_factory=dict)
    floating_ips: int = 0
    security_groups: int = 0
    security_group_rules: int = 0

    def flat(self) -> dict[str, int]:
        """One level of key → value (``gigabytes_<tier>`` per tier), as the plan diffs it."""
        out = {
            "instances": self.instances,
            "cores": self.cores,
            "ram_mb": self.ram_mb,
            "gigabytes": self.gigabytes,
            "floating_ips": self.floating_ips,
            "security_groups": self.security_groups,
            "security_group_rules": self.security_group_rules,
        }
        for tier, gb in sorted(self.gigabytes_by_tier.items()):
            out[f"gigabytes_{tier}"] = gb
        return out

    def to_dict(self) -> dict[str, Any]:
        return self.flat()


@dataclass(slots=True)
class Project:
    system: str
    name: str
    status: str
    description: str
    tags: list[str]
    quotas: Quotas
    reasons: list[Reason]

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "name": self.name,
            "status": self.status,
            "description": self.description,
            "tags": list(self.tags),
            "quotas": self.quotas.to_dict(),
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(slots=True)
class Flavor:
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    reasons: list[Reason]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "vcpus": self.vcpus,
            "ram_mb": self.ram_mb,
            "disk_gb": self.disk_gb,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Selector:
    """Which hosts: internal CIDRs, or a placeholder resolved from a port tag at plan time."""

    cidrs: tuple[str, ...] = ()
    placeholder: str | None = None

    @property
    def label(self) -> str:
        return self.placeholder or ",".join(self.cidrs)

    def to_dict(self) -> dict[str, Any]:
        if self.placeholder:
            return {"placeholder": self.placeholder}
        return {"cidrs": list(self.cidrs)}


@dataclass(slots=True)
class Group:
    """A security group cgcloud owns: the hosts it is bound to, and its identity tag."""

    system: str
    key: str
    name: str
    hosts: Selector
    description: str

    @property
    def tags(self) -> list[str]:
        return [MANAGED_TAG, SYSTEM_TAG + self.system, GROUP_TAG + self.key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "key": self.key,
            "name": self.name,
            "hosts": self.hosts.to_dict(),
            "description": self.description,
            "tags": self.tags,
        }


@dataclass(slots=True)
class Rule:
    """One security-group rule. ``remote`` is a CIDR, or a placeholder to resolve."""

    system: str
    group: str
    direction: str
    protocol: str | None
    port_min: int | None
    port_max: int | None
    remote_cidr: str | None
    remote_placeholder: str | None
    reason: Reason
    reasons: list[Reason]
    ethertype: str = "IPv4"

    @property
    def description(self) -> str:
        return description_for(self.reason)

    def identity(self) -> tuple[Any, ...]:
        """The tuple Neutron compares (plus our description): how a rule is found again."""
        return (
            self.group,
            self.direction,
            self.ethertype,
            self.protocol,
            self.port_min,
            self.port_max,
            self.remote_cidr or self.remote_placeholder,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "group": self.group,
            "direction": self.direction,
            "ethertype": self.ethertype,
            "protocol": self.protocol,
            **formats.rule_ports(self.port_min, self.port_max),
            "remote": (
                {"placeholder": self.remote_placeholder}
                if self.remote_placeholder
                else {"cidr": self.remote_cidr}
            ),
            "description": self.description,
            "reasons": [r.to_dict() for r in self.reasons],
        }


@dataclass(slots=True)
class Note:
    """Something the user should know that is not a change (pending form, lapsed system)."""

    system: str
    kind: str
    message: str
    reason: Reason | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"system": self.system, "kind": self.kind, "message": self.message}
        if self.reason:
            out["reason"] = self.reason.to_dict()
        return out


@dataclass(slots=True)
class DesiredState:
    now: str
    projects: list[Project] = field(default_factory=list)
    flavors: list[Flavor] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "cgcloud-desired/v1",
            "now": self.now,
            "projects": [p.to_dict() for p in self.projects],
            "flavors": [f.to_dict() for f in self.flavors],
            "groups": [g.to_dict() for g in self.groups],
            "rules": [r.to_dict() for r in self.rules],
            "notes": [n.to_dict() for n in self.notes],
        }

    def project(self, system: str) -> Project | None:
        return next((p for p in self.projects if p.system == system), None)


def description_for(reason: Reason) -> str:
    """``cgcloud WL-2026-0031#4 until 2026-12-31``: a rule's only durable label in Neutron."""
    return f"{DESCRIPTION_PREFIX}{reason.form}#{reason.row} until {reason.until}"


def parse_description(text: str | None) -> Reason | None:
    """The inverse of description_for (None for a description cgcloud did not write)."""
    if not text or not text.startswith(DESCRIPTION_PREFIX):
        return None
    body = text[len(DESCRIPTION_PREFIX) :]
    head, sep, until = body.partition(" until ")
    form, hash_, row = head.rpartition("#")
    if not sep or not hash_ or not row.isdigit():
        return None
    return Reason(form, int(row), until)


def flavor_name(vcpus: int, memory_gb: int, disk_gb: int) -> str:
    return f"cg-{vcpus}c{memory_gb}g{disk_gb}d"


def group_key(system: str, hosts: Selector) -> str:
    """A short stable key for a (system, host set): it must fit any cloud's marks."""
    raw = f"{system}|{hosts.label}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def group_description(key: str, system: str, hosts: Selector) -> str:
    """``cgcloud:group=<key> cgcloud: <system> <hosts>``: the group's identity, written in
    the one create call. The key comes first so no truncation can cut it (an engine
    cuts the description to its cloud's limit: Neutron's is 255); Neutron takes no tags
    at create here (measured), and a separate tagging call could fail and leave an
    unrecognisable group behind (docs/reconcile.md)."""
    label = hosts.label
    if len(label) > 80:
        label = f"{hosts.cidrs[0]}+{len(hosts.cidrs) - 1}"
    return f"{GROUP_TAG}{key} cgcloud: {system} {label}"


def group_marker(description: str | None) -> str | None:
    """The group key a description written by `group_description` carries (else None)."""
    if not description or not description.startswith(GROUP_TAG):
        return None
    key = description[len(GROUP_TAG) :].split(" ", 1)[0]
    if len(key) != 16 or any(c not in "0123456789abcdef" for c in key):
        return None
    return key


def group_name(system: str, hosts: Selector) -> str:
    label = hosts.label
    if len(label) > 80:
        label = f"{hosts.cidrs[0]}+{len(hosts.cidrs) - 1}"
    return f"cg-{system}-{label}"


# --------------------------------------------------------------------------- compile


def _bundles(repo: model.Repository) -> dict[str, list[model.ProjectApplication]]:
    out: dict[str, list[model.ProjectApplication]] = {}
    for pa in repo.projects:
        for form_id, _signer in pa.forms:
            out.setdefault(form_id, []).append(pa)
    return out


def _signed_by(sig: model.Signature | None, day: date) -> bool:
    return sig is not None and sig.signed and sig.date is not None and sig.date <= day


def row_approved(policy: model.NetworkPolicy, row: model.Row) -> bool:
    """The reviewer boxes a row needs (rules CG3xx/normal say why): normal rows need
    审核人1 on or before the window start; high-risk rows need all three, distinct."""
    window = policy.window_of(row)
    if window is None:
        return False
    roles = model.REVIEWER_ROLES if policy.is_high_risk(row) else ("cloud_resource_manager",)
    sigs = [policy.reviewers.get(r) for r in roles]
    if not all(_signed_by(s, window.start) for s in sigs):
        return False
    names = [s.by for s in sigs if s is not None]
    return len(set(names)) == len(names)


def compile(  # noqa: A001 - the pipeline's verb
    repo: model.Repository, now: datetime, room: QuotaRoom = NO_ROOM
) -> DesiredState:
    """The desired state at ``now``. Assumes a repository that validated without errors;
    anything unparseable or unapproved is simply left out (and noted). ``room``: what
    the engine's cloud adds to a project's groups and rules (its quotas leave room)."""
    state = DesiredState(now=now.isoformat())
    bundles = _bundles(repo)

    def bundled_ok(form_id: str) -> bool:
        return all(pa.complete for pa in bundles.get(form_id, []))

    apps = _approved_applications(repo, clock.today(now), state, bundled_ok)
    flavors: dict[str, Flavor] = {}
    for system, forms in apps.items():
        state.projects.append(_project(system, forms, flavors))
    state.flavors = sorted(flavors.values(), key=lambda f: f.name)
    _network(repo, now, state, bundled_ok)
    # group and rule quotas sized for the forms' groups and rules, and the cloud's own
    for project in state.projects:
        n_groups = sum(1 for g in state.groups if g.system == project.system)
        n_rules = sum(1 for r in state.rules if r.system == project.system)
        project.quotas.security_groups = n_groups + room.groups
        project.quotas.security_group_rules = (
            n_rules + room.rules + room.rules_per_new_group * max(n_groups, 1)
        )
    return state


def _approved_applications(
    repo: model.Repository,
    today: date,
    state: DesiredState,
    bundled_ok: Callable[[str], bool],
) -> dict[str, list[model.ResourceApplication]]:
    """System → its approved ResourceApplications of ``today``'s year (the rest noted)."""
    apps: dict[str, list[model.ResourceApplication]] = {}
    for app in sorted(repo.applications, key=lambda a: a.id):
        if app.year != today.year:
            continue
        if not app.approved or not bundled_ok(app.id):
            state.notes.append(
                Note(
                    app.system,
                    "pending-form",
                    _("{form} 尚未批准或打包表单未全部签字，暂不开通").format(form=app.id),
                    Reason(app.id),
                )
            )
            continue
        apps.setdefault(app.system, []).append(app)
    for system in sorted({a.system for a in repo.applications} - set(apps)):
        years = sorted({a.year for a in repo.applications if a.system == system})
        state.notes.append(
            Note(
                system,
                "no-approved-resources",
                _(
                    "{system} 没有 {year} 年度已批准的云资源申请单（有: {years}）；"
                    "已有资源不会被删除，配额按已过期处理"
                ).format(system=system, year=today.year, years=", ".join(map(str, years))),
            )
        )
    return apps


def _project(
    system: str, forms: list[model.ResourceApplication], flavors: dict[str, Flavor]
) -> Project:
    """The system's project: quotas summed over its forms, the flavors its servers need."""
    q = Quotas()
    status = "formal"
    for app in forms:
        final = app.approvals.get("final")
        if app.type == "new" and final is not None:
            status = str(final.fields.get("decision", status))
        for res in app.resources:
            _add_resource(q, app, res, flavors)
    ids = [a.id for a in forms]
    return Project(
        system=system,
        name=system,
        status=status,
        description=f"cgcloud: {system}（依据 {'、'.join(ids)}）",
        tags=[MANAGED_TAG, SYSTEM_TAG + system, STATUS_TAG + status],
        quotas=q,
        reasons=[Reason(i) for i in ids],
    )


def _add_resource(
    q: Quotas, app: model.ResourceApplication, res: model.Resource, flavors: dict[str, Flavor]
) -> None:
    f = res.fields
    if res.type == "server":
        n = res.count()
        vcpu, mem, disk = (
            int(f.get("vcpu", 0)),
            int(f.get("memory_gb", 0)),
            int(f.get("system_disk_gb", 0)),
        )
        q.instances += n
        q.cores += vcpu * n
        q.ram_mb += mem * 1024 * n
        q.gigabytes += disk * n
        name = flavor_name(vcpu, mem, disk)
        fl = flavors.setdefault(name, Flavor(name, vcpu, mem * 1024, disk, []))
        if Reason(app.id) not in fl.reasons:
            fl.reasons.append(Reason(app.id))
    elif res.type == "volume":
        size = int(f.get("size_gb", 0))
        tier = str(f.get("tier", "standard"))
        q.gigabytes += size
        q.gigabytes_by_tier[tier] = q.gigabytes_by_tier.get(tier, 0) + size
    elif res.type == "public_ip":
        q.floating_ips += res.count()


def _network(
    repo: model.Repository, now: datetime, state: DesiredState, bundled_ok: Callable[[str], bool]
) -> None:
    """Network policies → the groups and rules wanted at ``now`` (the rest noted)."""
    groups: dict[str, Group] = {}
    rules: dict[tuple[Any, ...], Rule] = {}
    bastions = repo.zones.bastion_values if repo.zones else set()
    for policy in sorted(repo.policies, key=lambda p: p.id):
        system = policy.system
        if state.project(system) is None:
            state.notes.append(
                Note(
                    system,
                    "no-project",
                    _("{form}: {system} 没有本年度已批准的资源申请单，网络策略暂不开通").format(
                        form=policy.id, system=system
                    ),
                    Reason(policy.id),
                )
            )
            continue
        if not bundled_ok(policy.id):
            state.notes.append(
                Note(
                    system,
                    "pending-form",
                    _("{form}: 打包它的开通申请单（附件4）尚未四方签字").format(form=policy.id),
                    Reason(policy.id),
                )
            )
            continue
        for row in policy.rules:
            window = policy.window_of(row)
            if not row.parsed or window is None or not window.contains(now):
                continue
            reason = Reason(policy.id, row.number, window.end.isoformat())
            if not row_approved(policy, row):
                state.notes.append(
                    Note(
                        system,
                        "unapproved-row",
                        _("{form} 第{row}行 审核人签字不全，暂不开通").format(
                            form=policy.id, row=row.number
                        ),
                        reason,
                    )
                )
                continue
            for rule in _row_rules(system, row, reason, groups, bastions):
                _merge(rules, rule)
    state.groups = sorted(groups.values(), key=lambda g: (g.system, g.name))
    state.rules = sorted(rules.values(), key=_rule_sort)


def _merge(rules: dict[tuple[Any, ...], Rule], rule: Rule) -> None:
    """One rule per identity; several rows asking for it are all its reasons."""
    k = rule.identity()
    have = rules.get(k)
    if have is None:
        rules[k] = rule
        return
    have.reasons = sorted({*have.reasons, *rule.reasons})
    # the description names the reason that lasts longest
    have.reason = max(have.reasons, key=lambda r: (r.until, r.form, -r.row))


def _rule_sort(r: Rule) -> tuple[Any, ...]:
    return (
        r.system,
        r.group,
        r.direction,
        r.protocol or "",
        r.port_min or 0,
        r.port_max or 0,
        r.remote_cidr or r.remote_placeholder or "",
        r.reason,
    )


def _selector(addr: grammar.Address) -> Selector:
    if addr.placeholder:
        return Selector(placeholder=addr.placeholder)
    return Selector(cidrs=tuple(addr.cidrs))


def _group(system: str, addr: grammar.Address, groups: dict[str, Group]) -> Group:
    hosts = _selector(addr)
    key = group_key(system, hosts)
    if key not in groups:
        groups[key] = Group(
            system=system,
            key=key,
            name=group_name(system, hosts),
            hosts=hosts,
            description=group_description(key, system, hosts),
        )
    return groups[key]


def _port_specs(ports: grammar.Ports) -> list[tuple[str | None, int | None, int | None]]:
    if ports.any:
        return [(None, None, None)]
    out: list[tuple[str | None, int | None, int | None]] = []
    for e in ports.entries:
        if e.protocol == "icmp":
            out.append(("icmp", None, None))
        else:
            out.append((e.protocol, e.low, e.high))
    return out


def _remotes(addr: grammar.Address) -> list[tuple[str | None, str | None]]:
    if addr.placeholder:
        return [(None, addr.placeholder)]
    return [(c, None) for c in addr.cidrs]


def _row_rules(
    system: str, row: model.Row, reason: Reason, groups: dict[str, Group], bastions: set[int]
) -> list[Rule]:
    """Ingress on an internal target's group, egress on an internal source's group.

    A bastion source gets no egress leg: the bastions are the cloud provider's
    hosts (第十九条), not the system's, and their ports live in another project.
    """
    assert row.source and row.target and row.ports and row.from_zone and row.to_zone
    out: list[Rule] = []
    legs: list[tuple[str, grammar.Address, grammar.Address]] = []
    if row.to_zone.internal and not row.target.any:
        legs.append(("ingress", row.target, row.source))
    is_bastion = bool(row.source.ranges) and all(
        lo == hi and lo in bastions for lo, hi in row.source.ranges
    )
    if row.from_zone.internal and not row.source.any and not is_bastion:
        legs.append(("egress", row.source, row.target))
    for direction, hosts, remote in legs:
        group = _group(system, hosts, groups)
        for proto, lo, hi in _port_specs(row.ports):
            for cidr, placeholder in _remotes(remote):
                out.append(
                    Rule(
                        system=system,
                        group=group.key,
                        direction=direction,
                        protocol=proto,
                        port_min=lo,
                        port_max=hi,
                        remote_cidr=cidr,
                        remote_placeholder=placeholder,
                        reason=reason,
                        reasons=[reason],
                    )
                )
    return out
