"""Time-driven actions: what is due at ``now``, from the forms and the actual state.

Pure (no cloud, no clock of its own): the caller passes ``now``, the plan that
``plan.diff`` made for ``desired.compile(repo, now)``, and an ``Inventory`` of
servers, volumes, ports and floating IPs that an engine read. Out come the
actions and the reasons a human reads (docs/enforce.md):

- **rules**: the time-driven subset of the plan — open rules whose window
  contains ``now`` and are missing, close rules whose window (the ``until`` in
  their description) has ended, with the groups, bindings and Neutron quotas
  that those need. Drift, edited forms and new projects stay with ``apply``.
- **decommission** (附件3): nothing before ``shutdown_date``; then, only when the
  operator confirmed ``data_copied``, power off the hosts and mark them (and
  their volumes, ports, floating IPs) with the notice id and the power-off time;
  seven full local days after that *recorded* time, delete what carries the
  mark; once the system has no host left, delete its cgcloud groups, zero its
  quotas and tag its project as decommissioned.
- **lapsed approvals**: a managed project whose system has no approved form for
  the year of ``now`` is reported, never deleted.

The reconciler stays stateless: everything it must remember lives on the cloud
resources themselves (mark-for-op).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from cgcloud import clock, desired, lifecycle, model
from cgcloud import plan as p
from cgcloud.actual import (  # noqa: F401 - re-exported for the engines' older imports
    FloatingIP,
    Inventory,
    Port,
    Server,
    Volume,
)
from cgcloud.i18n import N_, _, ngettext
from cgcloud.lifecycle import (  # noqa: F401 - the decommission's marks and its seven days
    KEEP_DAYS,
    POWEROFF_KEY,
    POWERON_SEEN_KEY,
    SHUTDOWN_KEY,
)

NETWORK_QUOTA_KEYS = ("security_groups", "security_group_rules")


# --------------------------------------------------------------------------- inventory


def _ours(g: p.AGroup) -> bool:
    """A group cgcloud made: tagged (older applies) or described ``cgcloud…`` at create."""
    return p.is_managed(g.tags) or g.description.startswith("cgcloud")


def tag(key: str, value: str) -> str:
    return f"{key}={value}"


def tag_value(tags: list[str], key: str) -> str | None:
    return p._tag_value(tags, key + "=")


# --------------------------------------------------------------------------- actions


@dataclass(slots=True)
class Action:
    """One thing enforce does (or only reports), with the sentence that says why.

    ``verb``: open | close | poweroff | repoweroff | delete | reclaim | report.
    ``changes`` are plan changes (rules) an engine applies; ``data`` is what a
    decommission step needs (server, volumes, ports, floating IPs …).
    """

    verb: str
    system: str
    form: str
    message: str
    row: int = 0
    host: str = ""
    changes: list[p.Change] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    deletes: int = 0
    status: str = "planned"  # planned | done | failed | blocked | reported
    error: str = ""

    @property
    def acts(self) -> bool:
        return self.verb != "report"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "verb": self.verb,
            "system": self.system,
            "form": self.form,
            "row": self.row,
            "host": self.host,
            "message": self.message,
            "status": self.status,
        }
        if self.error:
            out["error"] = self.error
        return out


# the verbs of the open/close lines, one shape for both (marked here, translated when the
# message is made); the other messages carry their verb in their own text
VERB_LABELS = {"open": N_("开放"), "close": N_("关闭")}
HIGH_RISK_PERIOD = N_("高危端口使用期")
NORMAL_PERIOD = N_("普通端口使用期")


def _ports_label(protocol: str | None, lo: int | None, hi: int | None) -> str:
    if protocol in (None, "", "any"):
        return _("任意端口")
    proto = str(protocol).upper()
    if lo is None:
        return proto
    return f"{proto}{lo}" if lo == hi else f"{proto}{lo}-{hi}"


def _period_label(policy: model.NetworkPolicy, row: model.Row) -> str:
    """Which period governs the row (高危端口使用期 or 普通端口使用期), translated."""
    return _(HIGH_RISK_PERIOD) if policy.is_high_risk(row) else _(NORMAL_PERIOD)


def _row_kind(repo: model.Repository, form: str, row: int) -> tuple[str, clock.Window | None]:
    """(the row's period label, window) of a form's row, when the repository still has it;
    ("使用期", None) when it has not."""
    policy = repo.form(form)
    if isinstance(policy, model.NetworkPolicy) and 1 <= row <= len(policy.rules):
        r = policy.rules[row - 1]
        return _period_label(policy, r), policy.window_of(r)
    return _("使用期"), None


def _ended(period: str, until: object) -> str:
    return _("{period}已于 {until} 结束").format(period=period, until=until)


def _row_message(verb: str, form: str, row: int, ports: str, why: str) -> str:
    """The one shape of every open/close line: enforce's actions and upcoming's events."""
    return _("{verb} {form} 第{row}行 {ports} ({why})").format(
        verb=_(VERB_LABELS[verb]), form=form, row=row, ports=ports, why=why
    )


def _expired(description: str, today: date) -> desired.Reason | None:
    """The reason of a rule cgcloud wrote whose window (``until``) ended before ``today``."""
    reason = desired.parse_description(description)
    if reason is None:
        return None
    try:
        return reason if date.fromisoformat(reason.until) < today else None
    except ValueError:
        return None


def rule_actions(
    plan: p.Plan, actual: p.ActualState, repo: model.Repository, now: datetime
) -> tuple[p.Plan, list[Action]]:
    """The time-driven subset of ``plan`` and one Action per (open|close, form, row).

    Closes: rule deletes whose description says ``until`` a day before today, and
    group deletes whose every rule says so (Neutron drops a group's rules with it).
    Opens: rule creates (every desired rule's window contains ``now``). Plus the
    group creates those opens need, the bindings that touch created or deleted
    groups, and the Neutron rule/group quotas. Everything else in ``plan``
    (drift, edited rows, projects, flavors, compute quotas) is ``apply``'s
    business and left out.
    """
    closes, group_deletes, opens = _closes_and_opens(plan, actual, clock.today(now))
    keys_needed = {c.data["rule"].group_key for c in opens}
    group_creates = [
        c
        for c in plan.changes
        if c.kind == "group" and c.action == "create" and c.data["key"] in keys_needed
    ]
    bindings = _bindings(
        plan, actual, {c.data["key"] for c in group_creates}, {c.id for c in group_deletes}
    )
    rule_deletes = [c for c, _rule, _why in closes if c.kind == "rule"]
    quotas = _network_quotas(plan) if (opens or closes) else []
    # the fingerprints go along: an engine removes the stale ones of the projects it changes
    out = p.Plan(now=plan.now, cloud=plan.cloud, fingerprints=plan.fingerprints)
    out.changes = [*quotas, *group_creates, *rule_deletes, *opens, *bindings, *group_deletes]
    return out, _rule_action_list(repo, closes, opens)


Close = tuple[p.Change, p.ARule, desired.Reason]


def _closes_and_opens(
    plan: p.Plan,
    actual: p.ActualState,
    today: date,
) -> tuple[list[Close], list[p.Change], list[p.Change]]:
    """(rule closes, the group deletes whose every rule has ended, rule opens)."""
    rules = {r.id: r for r in actual.rules}
    closes: list[Close] = []
    opens: list[p.Change] = []
    for c in plan.changes:
        if c.kind != "rule":
            continue
        if c.action == "delete" and c.id in rules:
            reason = _expired(rules[c.id].description, today)
            if reason is not None:
                closes.append((c, rules[c.id], reason))
        elif c.action == "create":
            opens.append(c)
    group_deletes = []
    for c in plan.changes:
        if c.kind == "group" and c.action == "delete":
            inside = [r for r in actual.rules if r.group_id == c.id]
            reasons = [_expired(r.description, today) for r in inside]
            if all(reasons):
                group_deletes.append(c)
                closes.extend(
                    (c, r, why) for r, why in zip(inside, reasons, strict=True) if why is not None
                )
    return closes, group_deletes, opens


def _bindings(
    plan: p.Plan, actual: p.ActualState, created_keys: set[str], deleted_ids: set[str | None]
) -> list[p.Change]:
    """The binding updates that touch a group this pass creates or deletes."""
    ports = {x.id: x for x in actual.ports}
    out = []
    for c in plan.changes:
        if c.kind == "binding" and c.action == "update":
            port = ports.get(c.data["port_id"])
            removed = set(port.group_ids) - set(c.data["keep"]) if port else set()
            if set(c.data["add"]) & created_keys or removed & deleted_ids:
                out.append(c)
    return out


def _network_quotas(plan: p.Plan) -> list[p.Change]:
    """The plan's quota updates cut to the network quotas that rules and groups need."""
    out = []
    for c in plan.changes:
        if c.kind == "quota" and c.action == "update":
            keep = {k: v for k, v in c.data["set"].items() if k in NETWORK_QUOTA_KEYS}
            if keep:
                out.append(
                    p.Change(
                        c.action,
                        c.kind,
                        c.system,
                        c.name,
                        c.reasons,
                        c.detail,
                        c.id,
                        {k: (c.before or {}).get(k) for k in keep},
                        keep,
                        {"set": keep},
                    )
                )
    return out


def _rule_action_list(
    repo: model.Repository, closes: list[Close], opens: list[p.Change]
) -> list[Action]:
    """One Action per (open|close, form, row), with the changes that carry it out."""
    actions: dict[tuple[str, str, int], Action] = {}

    def action(
        verb: str, system: str, reason: desired.Reason, label: str, change: p.Change
    ) -> None:
        key = (verb, reason.form, reason.row)
        a = actions.get(key)
        if a is None:
            period, window = _row_kind(repo, reason.form, reason.row)
            if verb == "close":
                why = _ended(period, reason.until)
            elif window is not None:
                why = _("{period} {window}").format(period=period, window=window)
            else:
                why = _("{period} 至 {until}").format(period=period, until=reason.until)
            a = actions[key] = Action(
                verb,
                system,
                reason.form,
                "",
                row=reason.row,
                data={"ports": [], "why": why, "rules": 0},
            )
        if label not in a.data["ports"]:
            a.data["ports"].append(label)
        a.data["rules"] += 1
        if change not in a.changes:
            a.changes.append(change)

    for c, ar, reason in closes:
        action("close", c.system, reason, _ports_label(ar.protocol, ar.port_min, ar.port_max), c)
    for c in opens:
        spec: p.RuleSpec = c.data["rule"]
        label = _ports_label(spec.protocol, spec.port_min, spec.port_max)
        for reason in c.reasons:
            action("open", c.system, reason, label, c)
    for a in actions.values():
        a.message = _row_message(a.verb, a.form, a.row, ",".join(a.data["ports"]), a.data["why"])
        n = a.data["rules"]
        if n > 1:
            a.message += ngettext(" — {n} 条安全组规则", " — {n} 条安全组规则", n).format(n=n)
    return sorted(actions.values(), key=lambda a: (a.verb != "close", a.form, a.row))


def converged(plan: p.Plan, acted: p.Plan) -> list[p.Fingerprint]:
    """The rule fingerprints a pass may record once ``acted`` (its subset of ``plan``)
    was carried out in full: those of the systems with no group or rule change left
    for ``apply`` (drift, an edited row) — their projects then hold what the forms want."""
    taken = {id(c) for c in acted.changes}
    left = {
        c.system
        for c in plan.changes
        if c.kind in ("group", "rule") and c.action in p.CHANGE_ACTIONS and id(c) not in taken
    }
    return [f for f in plan.fingerprints if f.system not in left]


# --------------------------------------------------------------------------- decommission


def _marked(meta_or_tags: dict[str, str] | list[str], notice_id: str) -> bool:
    if isinstance(meta_or_tags, dict):
        return meta_or_tags.get(SHUTDOWN_KEY) == notice_id
    return tag(SHUTDOWN_KEY, notice_id) in meta_or_tags


def poweroff_of(meta_or_tags: dict[str, str] | list[str]) -> datetime | None:
    """The recorded power-off of a server/volume (metadata) or a port/floating IP (tags)."""
    if isinstance(meta_or_tags, dict):
        return lifecycle.poweroff_of(meta_or_tags)
    raw = tag_value(meta_or_tags, POWEROFF_KEY)
    return lifecycle.poweroff_of({POWEROFF_KEY: raw}) if raw else None


delete_due = lifecycle.deletion_due


def _attached(inv: Inventory, server: Server) -> tuple[list[Volume], list[Port], list[FloatingIP]]:
    vols = [v for v in inv.volumes if server.id in v.server_ids]
    ports = [x for x in inv.ports if x.device_id == server.id]
    port_ids = {x.id for x in ports}
    fips = [f for f in inv.floating_ips if f.port_id in port_ids]
    return vols, ports, fips


def host_record(
    server: Server, vols: list[Volume], poweroff: datetime | None, now: datetime
) -> dict[str, Any]:
    """One host's line of the reclaim record (回收记录)."""
    return {
        "host": server.ips[0] if server.ips else "",
        "ips": list(server.ips),
        "server": server.name,
        "server_id": server.id,
        "flavor": server.flavor,
        "vcpus": server.vcpus,
        "memory_mb": server.ram_mb,
        "system_disk_gb": server.disk_gb,
        "volumes": [{"id": v.id, "name": v.name, "size_gb": v.size_gb} for v in vols],
        "storage_gb": server.disk_gb + sum(v.size_gb for v in vols),
        "powered_off_at": poweroff.isoformat() if poweroff else None,
        "deleted_at": now.isoformat(),
    }


def _leftovers(inv: Inventory, n: model.ShutdownNotice, now: datetime) -> list[Action]:
    """Leftovers of an interrupted deletion: marked, due, their server gone."""
    server_ids = {s.id for s in inv.servers}
    lv = [
        v
        for v in inv.volumes
        if _marked(v.metadata, n.id)
        and not set(v.server_ids) & server_ids
        and (t := poweroff_of(v.metadata)) is not None
        and now >= delete_due(t)
    ]
    lp = [
        x
        for x in inv.ports
        if _marked(x.tags, n.id)
        and x.device_id not in server_ids
        and (t := poweroff_of(x.tags)) is not None
        and now >= delete_due(t)
    ]
    lf = [
        f
        for f in inv.floating_ips
        if _marked(f.tags, n.id)
        and (f.port_id in {x.id for x in lp} or f.port_id is None)
        and (t := poweroff_of(f.tags)) is not None
        and now >= delete_due(t)
    ]
    if not (lv or lp or lf):
        return []
    return [
        Action(
            "delete",
            n.system,
            n.id,
            _(
                "删除 {notice} 上次未删完的 {volumes} 个云硬盘、{ports} 个端口、{fips} 个浮动IP"
            ).format(notice=n.id, volumes=len(lv), ports=len(lp), fips=len(lf)),
            deletes=len(lv) + len(lp) + len(lf),
            data={"server": None, "volumes": lv, "ports": lp, "floating_ips": lf},
        )
    ]


def _withdrawn(inv: Inventory, notices: set[str]) -> list[Action]:
    """Marks whose notice is gone: the notice was withdrawn; report, never delete."""
    out = []
    for s in inv.servers:
        nid = s.metadata.get(SHUTDOWN_KEY)
        if nid and nid not in notices:
            ip = s.ips[0] if s.ips else s.name
            out.append(
                Action(
                    "report",
                    "",
                    nid,
                    _(
                        "报告 {notice}: 主机 {ip} ({server}) 带关停标记，但仓库中已没有该关停通知单："
                        "不会删除；如已撤回关停，请开机并删除元数据 {keys}"
                    ).format(
                        notice=nid, ip=ip, server=s.name, keys=f"{SHUTDOWN_KEY}/{POWEROFF_KEY}"
                    ),
                    host=ip,
                )
            )
    return out


def _poweroff_message(n: model.ShutdownNotice, s: Server, ip: str, now: datetime) -> str:
    """关机 … (or 记录关机 … for a host that is off already): why now, and kept until when."""
    if s.status != "SHUTOFF":
        text = _(
            "关机 {notice} {ip} ({server}) (关停日期 {date} 已到，"
            "运维单位已确认；保留至 {kept} 后删除)"
        )
    else:
        text = _(
            "记录关机（主机已是关机状态） {notice} {ip} ({server}) (关停日期 {date} 已到，"
            "运维单位已确认；保留至 {kept} 后删除)"
        )
    return text.format(
        notice=n.id, ip=ip, server=s.name, date=n.shutdown_date, kept=lifecycle.kept_until(now)
    )


def decommission_actions(repo: model.Repository, inv: Inventory, now: datetime) -> list[Action]:
    """Every decommission step due at ``now`` (and the delays and surprises to report)."""
    today = clock.today(now)
    out: list[Action] = []
    notices = {n.id: n for n in repo.shutdowns}
    for n in sorted(repo.shutdowns, key=lambda x: x.id):
        if not lifecycle.started(n, today) or n.shutdown_date is None:
            continue  # before shutdown_date nothing happens (upcoming lists it)
        if not lifecycle.confirmed(n):
            late = (today - n.shutdown_date).days
            out.append(
                Action(
                    "report",
                    n.system,
                    n.id,
                    ngettext(
                        "延迟 {notice} {system}: 关停日期 {date} 已到（已延迟 {late} 天），"
                        "运维单位尚未确认已做好关停前准备（data_copied），主机不动",
                        "延迟 {notice} {system}: 关停日期 {date} 已到（已延迟 {late} 天），"
                        "运维单位尚未确认已做好关停前准备（data_copied），主机不动",
                        late,
                    ).format(notice=n.id, system=n.system, date=n.shutdown_date, late=late),
                )
            )
            continue
        proj = inv.project_of(n.system)
        if proj is None:
            out.append(
                Action(
                    "report",
                    n.system,
                    n.id,
                    _("报告 {notice}: 系统 {system} 没有 cgcloud 管理的项目，无主机可关停").format(
                        notice=n.id, system=n.system
                    ),
                )
            )
            continue
        if p._tag_value(proj.tags, desired.DECOMMISSIONED_TAG):
            continue  # done: reclaimed already
        servers = [s for s in inv.servers if s.project_id == proj.id]
        listed = {h.strip() for h, _host in n.hosts}
        if n.all_hosts:
            hosts = servers
        else:
            hosts = [s for s in servers if listed & set(s.ips)]
            found = {ip for s in hosts for ip in s.ips}
            for ip in sorted(listed - found):
                leftovers = [v for v in inv.volumes if _marked(v.metadata, n.id)]
                if not leftovers:
                    out.append(
                        Action(
                            "report",
                            n.system,
                            n.id,
                            _(
                                "报告 {notice}: 主机 {ip} 在项目 {project} 中不存在"
                                "（已删除，或地址有误）"
                            ).format(notice=n.id, ip=ip, project=proj.name),
                            host=ip,
                        )
                    )
        waiting = False
        deleting: list[str] = []
        for s in sorted(hosts, key=lambda s: (s.ips, s.name)):
            vols, ports, fips = _attached(inv, s)
            ip = s.ips[0] if s.ips else s.name
            recorded = poweroff_of(s.metadata)
            if recorded is None:
                out.append(
                    Action(
                        "poweroff",
                        n.system,
                        n.id,
                        _poweroff_message(n, s, ip, now),
                        host=ip,
                        data={
                            "server": s,
                            "volumes": vols,
                            "ports": ports,
                            "floating_ips": fips,
                            "stop": s.status != "SHUTOFF",
                        },
                    )
                )
                waiting = True
                continue
            due = delete_due(recorded)
            if now < due:
                waiting = True
                if s.running:
                    out.append(
                        Action(
                            "repoweroff",
                            n.system,
                            n.id,
                            _(
                                "再次关机 {notice} {ip} ({server}): 关机保留期内被开机；"
                                "保留期仍从 {recorded} 起算，不重新计时，{due} 起删除"
                            ).format(
                                notice=n.id,
                                ip=ip,
                                server=s.name,
                                recorded=recorded.isoformat(),
                                due=due.date(),
                            ),
                            host=ip,
                            data={"server": s},
                        )
                    )
                continue
            extra = _("（删除前发现已被重新开机）") if s.running else ""
            out.append(
                Action(
                    "delete",
                    n.system,
                    n.id,
                    _(
                        "删除 {notice} {ip} ({server}) 及其 {volumes} 个云硬盘、{ports} 个端口、"
                        "{fips} 个浮动IP (已于 {recorded} 关机，满 {days} 天){extra}"
                    ).format(
                        notice=n.id,
                        ip=ip,
                        server=s.name,
                        volumes=len(vols),
                        ports=len(ports),
                        fips=len(fips),
                        recorded=recorded.isoformat(),
                        days=KEEP_DAYS,
                        extra=extra,
                    ),
                    host=ip,
                    deletes=1 + len(vols) + len(ports) + len(fips),
                    data={
                        "server": s,
                        "volumes": vols,
                        "ports": ports,
                        "floating_ips": fips,
                        "record": host_record(s, vols, recorded, now),
                    },
                )
            )
            deleting.append(s.id)
        out.extend(_leftovers(inv, n, now))
        remaining = [s for s in servers if s.id not in deleting]
        whole = n.all_hosts or not remaining
        earliest = lifecycle.earliest_deletion(n)
        if whole and not waiting and not remaining and earliest is not None and now >= earliest:
            groups = [g for g in inv.groups if g.project_id == proj.id and _ours(g)]
            out.append(
                Action(
                    "reclaim",
                    n.system,
                    n.id,
                    _(
                        "回收 {notice} {system}: 删除 {groups} 个安全组，项目配额置零，"
                        "项目标记为已关停 ({tag})"
                    ).format(
                        notice=n.id,
                        system=n.system,
                        groups=len(groups),
                        tag=f"{desired.DECOMMISSIONED_TAG}{n.id}",
                    ),
                    deletes=len(groups),
                    data={"project": proj, "groups": groups},
                )
            )
    out.extend(_withdrawn(inv, set(notices)))
    return out


# --------------------------------------------------------------------------- lapsed approvals


def lapsed(repo: model.Repository, projects: list[p.AProject], now: datetime) -> list[Action]:
    """Managed projects whose system has no approved ResourceApplication for this year:
    a finding (续期或关停), never a deletion."""
    year = clock.today(now).year
    out = []
    for proj in projects:
        system = p._tag_value(proj.tags, desired.SYSTEM_TAG)
        if not p.is_managed(proj.tags) or system is None:
            continue
        if p._tag_value(proj.tags, desired.DECOMMISSIONED_TAG):
            continue
        apps = [a for a in repo.applications if a.system == system and a.approved]
        if any(a.year == year for a in apps):
            continue
        years = sorted({a.year for a in apps})
        if years and years[0] > year:
            continue  # approved for a later year only: not lapsed, not started yet
        past = [y for y in years if y < year]
        last = (
            _("{year} 年度资源已于 {year}-12-31 到期").format(year=past[-1])
            if past
            else _("没有已批准的申请单")
        )
        out.append(
            Action(
                "report",
                system,
                "",
                _(
                    "配额过期 {system}: {last}，{year} 年度未续期；资源不会被删除，请办理续期或关停"
                ).format(system=system, last=last, year=year),
            )
        )
    return out


# --------------------------------------------------------------------------- upcoming


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    verb: str  # open | close | poweroff | delete | lapse | report
    system: str
    form: str
    message: str
    row: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "verb": self.verb,
            "system": self.system,
            "form": self.form,
            "row": self.row,
            "message": self.message,
        }


def _lapses(repo: model.Repository) -> list[tuple[datetime, str, str, str]]:
    """(when, system, form, message) of every approved year with no next-year form."""
    by_system: dict[str, list[model.ResourceApplication]] = {}
    for a in repo.applications:
        if a.approved:
            by_system.setdefault(a.system, []).append(a)
    out = []
    for system, apps in by_system.items():
        for year in sorted({a.year for a in apps}):
            if any(a.year == year + 1 for a in apps):
                continue
            out.append(
                (
                    clock.year_start(year + 1),
                    system,
                    apps[0].id,
                    _(
                        "配额过期 {system} {year} 年度资源于 {year}-12-31 到期"
                        "（尚无 {next} 年度申请单）；只报告，不删除"
                    ).format(system=system, year=year, next=year + 1),
                )
            )
    return out


def upcoming(
    repo: model.Repository,
    now: datetime,
    days: int,
    marks: dict[str, list[tuple[str, datetime]]] | None = None,
) -> list[Event]:
    """What will open, close, power off, be deleted or lapse in ``(now, now + days]``.

    ``marks``: notice id → [(host, recorded power-off)] read from a cloud; without
    it a deletion is estimated from ``shutdown_date`` (the earliest it can be).
    """
    horizon = clock.days_later(now, days)
    out: list[Event] = []

    def add(at: datetime, verb: str, system: str, form: str, message: str, row: int = 0) -> None:
        if now < at <= horizon and at < clock.END_OF_TIME:  # not beyond 9999-12-31
            out.append(Event(at, verb, system, form, message, row))

    for policy in repo.policies:
        for row in policy.rules:
            window = policy.window_of(row)
            if window is None or not row.parsed or not desired.row_approved(policy, row):
                continue
            period = _period_label(policy, row)
            opens = _("{period} {window}").format(period=period, window=window)
            closes = _ended(period, window.end)
            for at, verb, why in (
                (window.opens_at, "open", opens),
                (window.closes_at, "close", closes),
            ):
                message = _row_message(verb, policy.id, row.number, row.port_text, why)
                add(at, verb, policy.system, policy.id, message, row.number)
    for n in repo.shutdowns:
        if n.shutdown_date is None:
            continue
        hosts = _("全部主机") if n.all_hosts else _("、").join(h for h, _host in n.hosts)
        confirmed = lifecycle.confirmed(n)
        note = "" if confirmed else _("（运维单位尚未确认 data_copied，确认前不会关机）")
        start = clock.start_of(n.shutdown_date)
        add(
            start,
            "poweroff",
            n.system,
            n.id,
            _("关机 {notice} {system} {hosts} (关停日期 {date}){note}").format(
                notice=n.id, system=n.system, hosts=hosts, date=n.shutdown_date, note=note
            ),
        )
        recorded = (marks or {}).get(n.id)
        if recorded:
            for host, t in recorded:
                add(
                    delete_due(t),
                    "delete",
                    n.system,
                    n.id,
                    _("删除 {notice} {host} (已于 {at} 关机，满 {days} 天)").format(
                        notice=n.id, host=host, at=t.isoformat(), days=KEEP_DAYS
                    ),
                )
        elif confirmed:
            add(
                delete_due(max(start, now) if now >= start else start),
                "delete",
                n.system,
                n.id,
                _(
                    "删除 {notice} {system} {hosts} (预计：关机满 {days} 天后；"
                    "以云上记录的关机时间为准)"
                ).format(notice=n.id, system=n.system, hosts=hosts, days=KEEP_DAYS),
            )
    for at, system, form, message in _lapses(repo):
        add(at, "lapse", system, form, message)
    order = {"close": 0, "open": 1, "poweroff": 2, "delete": 3, "lapse": 4}
    return sorted(out, key=lambda e: (e.at, order.get(e.verb, 9), e.form, e.row, e.message))


def next_wakeup(
    repo: model.Repository,
    now: datetime,
    interval: float,
    marks: dict[str, list[tuple[str, datetime]]] | None = None,
) -> datetime:
    """When a watch loop should run next: after ``interval`` seconds, or earlier at the
    next window boundary/power-off/deletion, so nothing waits a whole interval."""
    nxt = clock.later(now, timedelta(seconds=interval))
    for e in upcoming(repo, now, days=max(1, int(interval // 86400) + 1), marks=marks):
        if e.at < nxt:
            nxt = e.at
    return nxt


# --------------------------------------------------------------------------- helpers for callers


def due_systems(repo: model.Repository, now: datetime) -> set[str]:
    """Systems whose decommission has started (shutdown_date reached): only their
    volumes, ports and floating IPs need reading."""
    today = clock.today(now)
    return {
        n.system for n in repo.shutdowns if n.shutdown_date is not None and n.shutdown_date <= today
    }


def marks(inv: Inventory) -> dict[str, list[tuple[str, datetime]]]:
    """notice id → [(host, recorded power-off)] from the servers' metadata."""
    out: dict[str, list[tuple[str, datetime]]] = {}
    for s in inv.servers:
        nid, t = s.metadata.get(SHUTDOWN_KEY), poweroff_of(s.metadata)
        if nid and t:
            out.setdefault(nid, []).append((s.ips[0] if s.ips else s.name, t))
    return out


def reclaim_record(
    notice: str,
    system: str,
    cloud: str,
    hosts: list[dict[str, Any]],
    now: datetime,
    previous: dict[str, Any] | None = None,
    reclaimed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The cloud provider's reclaim record (回收记录), merged with an earlier one of the
    same notice (a deletion that took several passes)."""
    by_id = {h["server_id"]: h for h in (previous or {}).get("hosts", [])}
    by_id.update({h["server_id"]: h for h in hosts})
    merged = sorted(by_id.values(), key=lambda h: (h["host"], h["server"]))
    totals = {
        "hosts": len(merged),
        "vcpus": sum(h["vcpus"] for h in merged),
        "memory_mb": sum(h["memory_mb"] for h in merged),
        "storage_gb": sum(h["storage_gb"] for h in merged),
        "system_disk_gb": sum(h["system_disk_gb"] for h in merged),
        "volume_gb": sum(v["size_gb"] for h in merged for v in h["volumes"]),
    }
    out = {
        "format": "cgcloud-reclaim/v1",
        "notice": notice,
        "system": system,
        "cloud": cloud,
        "updated_at": now.isoformat(),
        "hosts": merged,
        "totals": totals,
        "system_reclaimed": (previous or {}).get("system_reclaimed"),
    }
    if reclaimed is not None:
        out["system_reclaimed"] = reclaimed
    return out


def reclaim_markdown(rec: dict[str, Any]) -> str:
    """The reclaim record as the cloud provider files it, in the reader's language."""
    t = rec["totals"]
    lines = [
        _("# 回收记录 {notice} — {system}").format(notice=rec["notice"], system=rec["system"]),
        "",
        _("- 云: {cloud}").format(cloud=rec["cloud"]),
        _("- 更新时间: {at}").format(at=rec["updated_at"]),
        _(
            "- 合计: {hosts} 台主机，vCPU {vcpus} 核，内存 {memory} GB，"
            "存储 {storage} GB（系统盘 {system_disk} GB + 云硬盘 {volumes} GB）"
        ).format(
            hosts=t["hosts"],
            vcpus=t["vcpus"],
            memory=f"{t['memory_mb'] / 1024:g}",
            storage=t["storage_gb"],
            system_disk=t["system_disk_gb"],
            volumes=t["volume_gb"],
        ),
        "",
    ]
    sr = rec.get("system_reclaimed")
    if sr:
        lines += [
            _("- 系统整体回收: 删除安全组 {groups}；项目配额已置零（{at}）").format(
                groups=", ".join(sr.get("groups", [])) or _("无"), at=sr.get("at", "")
            ),
            "",
        ]
    headers = [_("主机"), _("云主机"), _("规格"), "vCPU", _("内存 (GB)"), _("系统盘 (GB)")]
    headers += [_("云硬盘 (GB)"), _("存储合计 (GB)"), _("关机时间"), _("删除时间")]
    lines += [
        "| " + " | ".join(headers) + " |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for h in rec["hosts"]:
        vols = "+".join(str(v["size_gb"]) for v in h["volumes"]) or "0"
        lines.append(
            f"| {h['host']} | {h['server']} | {h['flavor']} | {h['vcpus']} | "
            f"{h['memory_mb'] / 1024:g} | {h['system_disk_gb']} | {vols} | {h['storage_gb']} | "
            f"{h['powered_off_at']} | {h['deleted_at']} |"
        )
    total, hosts = _("合计"), ngettext("{n} 台", "{n} 台", t["hosts"]).format(n=t["hosts"])
    lines.append(
        f"| **{total}** | {hosts} | | **{t['vcpus']}** | **{t['memory_mb'] / 1024:g}** | "
        f"{t['system_disk_gb']} | {t['volume_gb']} | **{t['storage_gb']}** | | |"
    )
    return "\n".join(lines) + "\n"
