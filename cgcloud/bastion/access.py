"""Who may reach which host through which bastion until when — computed from the forms.

Pure core (no network): ``compute(repo, now)`` turns the approved forms into, per
bastion of ``Zones.bastions``, the accounts to keep and their grants:

- a person is a ``type: bastion`` account with ``login`` and ``ssh_key`` on a
  ProjectApplication (附件4) whose four sign-offs are complete;
- a grant is (target host, port 22 or 3389) from an approved row of a NetworkPolicy
  that the same ProjectApplication bundles, whose source includes that bastion, whose
  target is an internal host, and whose window contains ``now`` — exactly the rows the
  cloud side (``desired.compile``) opens, so the bastion never allows more than the
  security groups do;
- an account's access ends at the earliest end of its grants' windows (the bastion's
  ``expiry-time``): after that a new apply/enforce writes what is still due.

Everything the forms mention but do not grant now is kept as a ``Candidate`` with the
reasons, so that ``cgcloud ssh`` can say exactly what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cgcloud import clock, desired, grammar, model
from cgcloud.bastion import keys
from cgcloud.i18n import _

ADMIN_PORTS = ((22, "SSH"), (3389, "RDP"))
MAX_HOSTS_PER_ROW = 1024  # a bastion lists each target; a wider row is a form to split


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """One target a login may open from one bastion, and why."""

    host: str
    port: int
    until: datetime  # the instant the row's window ends (aware)
    form: str
    row: int

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(slots=True)
class Account:
    login: str
    name: str
    keys: list[keys.PublicKey] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)

    @property
    def expiry(self) -> datetime:
        """When the bastion must stop accepting the key: the earliest window end."""
        return min(g.until for g in self.grants)

    @property
    def targets(self) -> list[tuple[str, int]]:
        """Distinct (host, port), in address order."""
        seen = {(g.host, g.port) for g in self.grants}
        return sorted(seen, key=lambda t: (grammar.ip_to_int(t[0]), t[1]))


@dataclass(slots=True)
class BastionAccess:
    address: str
    zone: str
    accounts: dict[str, Account] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A (bastion, person, target) the forms talk about; granted when ``problems`` is empty."""

    bastion: str
    login: str
    name: str
    host: str | None  # None: a placeholder target without an address
    port: int
    form: str
    row: int
    window: clock.Window | None
    problems: tuple[str, ...]


@dataclass(slots=True)
class AccessState:
    now: datetime
    bastions: dict[str, BastionAccess]
    candidates: list[Candidate]
    notes: list[str] = field(default_factory=list)

    def account(self, who: str) -> list[tuple[str, str]]:
        """(login, name) pairs known to the forms that match a login or a name."""
        return sorted({(c.login, c.name) for c in self.candidates if who in (c.login, c.name)})


@dataclass(frozen=True, slots=True)
class _Person:
    login: str
    name: str
    key: keys.PublicKey
    project: model.ProjectApplication


def _people(repo: model.Repository) -> tuple[list[_Person], list[str]]:
    people, notes = [], []
    for pa in repo.projects:
        for a in pa.accounts:
            if a.get("type") != "bastion":
                continue
            login, text = a.get("login"), a.get("ssh_key")
            if login is None or text is None:
                continue  # CG315
            try:
                key = keys.parse(str(text))
            except keys.BadKey:
                notes.append(
                    _("{form} {name} 的公钥不可用（CG311），不开通").format(
                        form=pa.id, name=a.get("name")
                    )
                )
                continue
            if keys.weakness(key) is not None:
                notes.append(
                    _("{form} {name} 的公钥太弱（CG312），不开通").format(
                        form=pa.id, name=a.get("name")
                    )
                )
                continue
            people.append(_Person(str(login), str(a.get("name", "")), key, pa))
    return people, notes


def _hosts(addr: grammar.Address) -> tuple[list[str] | None, int]:
    """Each host address of a target (None for a placeholder) and how many there are."""
    if addr.placeholder or addr.any:
        return None, 0
    total = sum(hi - lo + 1 for lo, hi in addr.ranges)
    if total > MAX_HOSTS_PER_ROW:
        return [], total
    return [grammar.int_to_ip(v) for lo, hi in addr.ranges for v in range(lo, hi + 1)], total


def compute(repo: model.Repository, now: datetime) -> AccessState:
    """The bastion access the forms grant at ``now`` (see the module docstring)."""
    zones = repo.zones
    state = AccessState(
        now=now,
        bastions={
            b.address: BastionAccess(b.address, b.zone) for b in (zones.bastions if zones else [])
        },
        candidates=[],
    )
    if zones is None:
        return state
    people, state.notes = _people(repo)
    _candidates(state, repo, people, zones)
    _grant(state)
    _keys_and_projects(state, people)
    state.notes = list(dict.fromkeys(state.notes))
    return state


def _candidates(
    state: AccessState, repo: model.Repository, people: list[_Person], zones: model.Zones
) -> None:
    """Every (person, row, host) the forms name, with what keeps it from being allowed."""
    cloud = desired.compile(repo, state.now)
    bundles: dict[str, list[model.ProjectApplication]] = {}
    for pa in repo.projects:
        for form_id, _at in pa.forms:
            bundles.setdefault(form_id, []).append(pa)
    policies = {p.id: p for p in repo.policies}
    for person in people:
        pa = person.project
        person_problems = (
            [] if pa.complete else [_("开通申请单 {form} 尚未四方签字").format(form=pa.id)]
        )
        for form_id, _at in pa.forms:
            policy = policies.get(form_id)
            if policy is None:
                continue
            policy_problems = list(person_problems)
            if cloud.project(policy.system) is None:
                policy_problems.append(
                    _("{system} 没有本年度已批准的云资源申请单").format(system=policy.system)
                )
            if not all(p.complete for p in bundles.get(policy.id, [])):
                policy_problems.append(
                    _("打包 {form} 的开通申请单尚未全部四方签字").format(form=policy.id)
                )
            for row in policy.rules:
                _row_candidates(state, person, policy, row, policy_problems, zones)


def _grant(state: AccessState) -> None:
    """The candidates without a problem become grants of their login's account."""
    for c in state.candidates:
        if c.problems or c.host is None:
            continue
        access = state.bastions[c.bastion]
        account = access.accounts.get(c.login)
        if account is None:
            account = access.accounts[c.login] = Account(c.login, c.name)
        assert c.window is not None
        grant = Grant(c.host, c.port, c.window.closes_at, c.form, c.row)
        if grant not in account.grants:
            account.grants.append(grant)


def _keys_and_projects(state: AccessState, people: list[_Person]) -> None:
    """Each account gets its people's keys and project forms, everything sorted."""
    for person in people:
        for access in state.bastions.values():
            account = access.accounts.get(person.login)
            if account is None:
                continue
            if person.key not in account.keys:
                account.keys.append(person.key)
            if person.project.id not in account.projects:
                account.projects.append(person.project.id)
    for access in state.bastions.values():
        for account in access.accounts.values():
            account.grants.sort()
            account.projects.sort()


def _row_candidates(
    state: AccessState,
    person: _Person,
    policy: model.NetworkPolicy,
    row: model.Row,
    problems_so_far: list[str],
    zones: model.Zones,
) -> None:
    if not row.parsed:
        return
    assert row.from_zone and row.to_zone and row.source and row.target and row.ports
    if not row.to_zone.internal:
        return
    ports = [p for p, _ in ADMIN_PORTS if row.ports.opens("tcp", p)]
    if not ports:
        return
    via = [
        b.address
        for b in zones.bastions
        if b.zone == row.from_zone.id and any(lo <= b.value <= hi for lo, hi in row.source.ranges)
    ]
    if not via:
        return
    window = policy.window_of(row)
    problems = list(problems_so_far)
    if window is None:
        problems.append(_("{form} 第{row}行没有使用期").format(form=policy.id, row=row.number))
    elif window.is_future(state.now):
        problems.append(
            _("{form} 第{row}行的使用期 {window} 尚未开始").format(
                form=policy.id, row=row.number, window=window
            )
        )
    elif window.is_past(state.now):
        problems.append(
            _("{form} 第{row}行的使用期 {window} 已结束").format(
                form=policy.id, row=row.number, window=window
            )
        )
    if window is not None and not desired.row_approved(policy, row):
        problems.append(_("{form} 第{row}行审核人签字不全").format(form=policy.id, row=row.number))
    hosts, total = _hosts(row.target)
    if hosts is None:
        hosts_or_none: list[str | None] = [None]
        state.notes.append(
            _(
                "{form} 第{row}行目标是占位名 {name}：堡垒机只按地址放行，"
                "请在主机分配地址后把地址写入备案表"
            ).format(form=policy.id, row=row.number, name=row.target.placeholder)
        )
    elif not hosts:
        hosts_or_none = []
        state.notes.append(
            _(
                "{form} 第{row}行目标有 {total} 个地址，超过 {max} 个，"
                "堡垒机不逐一放行；请把目标缩小到具体主机"
            ).format(form=policy.id, row=row.number, total=total, max=MAX_HOSTS_PER_ROW)
        )
    else:
        hosts_or_none = list(hosts)
    for bastion in via:
        for host in hosts_or_none:
            for port in ports:
                state.candidates.append(
                    Candidate(
                        bastion,
                        person.login,
                        person.name,
                        host,
                        port,
                        policy.id,
                        row.number,
                        window,
                        tuple(problems),
                    )
                )


def check(state: AccessState, who: str, host: str, port: int) -> tuple[str, Grant] | str:
    """(bastion address, grant) that lets ``who`` (login or name) open ``host:port`` now,
    or a Chinese sentence naming what is missing."""
    for address, access in state.bastions.items():
        for account in access.accounts.values():
            if who not in (account.login, account.name):
                continue
            for g in account.grants:
                if g.host == host and g.port == port:
                    return address, g
    known = state.account(who)
    if not known:
        return _(
            "{who} 没有可用的堡垒机账号：任何已签字的开通申请单（附件4）中都没有"
            "写明 login 和 ssh_key 的 bastion 账号 {who}"
        ).format(who=who)
    mine = [c for c in state.candidates if who in (c.login, c.name)]
    matching = [c for c in mine if c.host == host and c.port == port]
    if not matching:
        return _(
            "网络策略备案表中没有从堡垒机到 {host} TCP{port} 的已备案行"
            "（{who} 所在开通申请单打包的备案表），不能经堡垒机访问"
        ).format(host=host, port=port, who=who)
    reasons = sorted({p for c in matching for p in c.problems})
    return _("{who} 现在不能访问 {host}:{port}：{reasons}").format(
        who=who, host=host, port=port, reasons=_("；").join(reasons)
    )
