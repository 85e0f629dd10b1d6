"""The diff of projects, their fingerprint bookkeeping, quotas and flavors."""

from __future__ import annotations

from typing import Any

from cgcloud import desired as d
from cgcloud.actual import ActualState, _tag_value, is_managed
from cgcloud.i18n import _
from cgcloud.plan.changes import COMPUTE_KEYS, GLOBAL, NETWORK_KEYS, Change, Fingerprint
from cgcloud.plan.context import Diff
from cgcloud.plan.fingerprints import EMPTY_FINGERPRINT


def projects(x: Diff) -> None:
    """cgcloud's project per system: created, updated, or left alone with a report (one
    enforce reclaimed; a same-named project cgcloud does not manage)."""
    for p in x.actual.projects:
        system = _tag_value(p.tags, d.SYSTEM_TAG)
        if is_managed(p.tags) and system is not None:
            x.managed_projects.setdefault(system, p)
    by_name = {p.name: p for p in x.actual.projects}
    for want in x.state.projects:
        have = x.managed_projects.get(want.system)
        gone = _tag_value(have.tags, d.DECOMMISSIONED_TAG) if have else None
        if have is not None and gone is not None:  # enforce reclaimed it (docs/enforce.md)
            x.add(
                Change(
                    "report",
                    "project",
                    want.system,
                    want.name,
                    want.reasons,
                    _(
                        "该系统已按关停通知单 {notice} 关停并回收：不再开通资源"
                        "（恢复须由管理员移除项目标签 {tag}）"
                    ).format(notice=gone, tag=d.DECOMMISSIONED_TAG + gone),
                    id=have.id,
                )
            )
            x.blocked.add(want.system)
            continue
        if have is None and want.name in by_name:
            x.add(
                Change(
                    "report",
                    "project",
                    want.system,
                    want.name,
                    want.reasons,
                    _(
                        "同名项目 {name} 已存在但不是 cgcloud 管理的（没有 {tag} 标签）："
                        "不会修改它；请改名或由管理员加标签后重试"
                    ).format(name=want.name, tag=d.MANAGED_TAG),
                    id=by_name[want.name].id,
                )
            )
            x.blocked.add(want.system)
            continue
        x.project_of[want.system] = have
        _project(x, want, have)
    _lapsed(x)


def _project(x: Diff, want: d.Project, have: Any) -> None:
    wanted: dict[str, Any] = {"description": want.description, "tags": sorted(want.tags)}
    if have is None:
        x.add(
            Change(
                "create",
                "project",
                want.system,
                want.name,
                want.reasons,
                _("新建项目"),
                after=wanted,
                data={"name": want.name, "description": want.description, "tags": want.tags},
            )
        )
        return
    # the rule fingerprint is bookkeeping, not the forms' business: not compared,
    # and kept by an update only while it is the one wanted now (a stale one
    # must not come back after the engine removed it)
    recorded = have.fingerprints
    fp = x.fps.get(want.system)
    kept = recorded if fp is not None and recorded == [fp] else []
    current: dict[str, Any] = {"description": have.description, "tags": sorted(set(have.tags))}
    if current != wanted:
        x.add(
            Change(
                "update",
                "project",
                want.system,
                want.name,
                want.reasons,
                _("更新项目说明/标签"),
                id=have.id,
                before=current,
                after=wanted,
                data={"description": want.description, "tags": want.tags, "fingerprints": kept},
            )
        )


def _lapsed(x: Diff) -> None:
    """Managed projects no form wants this year: reported, never deleted."""
    wanted_systems = {p.system for p in x.state.projects}
    for system, p in sorted(x.managed_projects.items()):
        if system not in wanted_systems and _tag_value(p.tags, d.DECOMMISSIONED_TAG):
            x.add(
                Change(
                    "report",
                    "project",
                    system,
                    p.name,
                    [],
                    _("该系统已关停回收（项目保留，配额为零）"),
                    id=p.id,
                )
            )
        elif system not in wanted_systems:
            x.add(
                Change(
                    "report",
                    "project",
                    system,
                    p.name,
                    [],
                    _(
                        "本年度没有已批准的资源申请单：资源已过期，cgcloud 不会删除项目，请办理续期或关停"
                    ),
                    id=p.id,
                )
            )


def fingerprints(x: Diff) -> None:
    """The rule fingerprints to record once this plan is carried out."""
    wanted_systems = {p.system for p in x.state.projects}
    for system in sorted(wanted_systems | set(x.managed_projects)):
        have = x.managed_projects.get(system)
        if (
            system in x.blocked
            or not x.actual.covers(system)
            or (have is not None and _tag_value(have.tags, d.DECOMMISSIONED_TAG))
        ):
            continue
        fp = x.fps.get(system, EMPTY_FINGERPRINT)
        old = list(have.fingerprints) if have else []
        if fp is not None and old != [fp]:
            x.plan.fingerprints.append(Fingerprint(system, have.id if have else None, old, fp))


def quotas(x: Diff) -> None:
    actual = x.actual
    for want in x.state.projects:
        if want.system in x.blocked or not actual.covers(want.system):
            continue
        have = x.project_of.get(want.system)
        current = actual.quotas.get(have.id, {}) if have else {}
        target = _quota_target(want.quotas, actual)
        changed = {k: v for k, v in target.items() if current.get(k) != v}
        if changed:
            x.add(
                Change(
                    "update",
                    "quota",
                    want.system,
                    want.name,
                    want.reasons,
                    _("配额按本年度已批准的申请单合计"),
                    id=have.id if have else None,
                    before={k: current.get(k) for k in changed},
                    after=changed,
                    data={"set": changed},
                )
            )
        skipped = [t for t in want.quotas.gigabytes_by_tier if t not in actual.volume_types]
        if skipped and "volume" in actual.services:
            x.add(
                Change(
                    "report",
                    "quota",
                    want.system,
                    want.name,
                    want.reasons,
                    _(
                        "存储类型 {tiers} 不是云硬盘类型（volume type），只计入总量 gigabytes"
                    ).format(tiers=_("、").join(skipped)),
                )
            )


def _quota_target(q: d.Quotas, actual: ActualState) -> dict[str, int]:
    flat = q.flat()
    out: dict[str, int] = {}
    if "compute" in actual.services:
        out.update({k: flat[k] for k in COMPUTE_KEYS})
    if "volume" in actual.services:
        out["gigabytes"] = flat["gigabytes"]
        for tier, gb in q.gigabytes_by_tier.items():
            if tier in actual.volume_types:
                out[f"gigabytes_{tier}"] = gb
    if "network" in actual.services:
        out.update({k: flat[k] for k in NETWORK_KEYS})
    return out


def flavors(x: Diff) -> None:
    """Flavors are created when missing, never changed or deleted (they may be in use)."""
    if "compute" not in x.actual.services:
        return
    have_by_name = {f.name: f for f in x.actual.flavors}
    for fl in x.state.flavors:
        have_f = have_by_name.get(fl.name)
        spec = {"vcpus": fl.vcpus, "ram_mb": fl.ram_mb, "disk_gb": fl.disk_gb}
        if have_f is None:
            x.add(
                Change(
                    "create",
                    "flavor",
                    GLOBAL,
                    fl.name,
                    fl.reasons,
                    _("新建规格"),
                    after=spec,
                    data={"name": fl.name, **spec},
                )
            )
        elif (have_f.vcpus, have_f.ram_mb, have_f.disk_gb) != (fl.vcpus, fl.ram_mb, fl.disk_gb):
            x.add(
                Change(
                    "report",
                    "flavor",
                    GLOBAL,
                    fl.name,
                    fl.reasons,
                    _("同名规格已存在但配置不同：不会修改，请人工处理"),
                    id=have_f.id,
                    before={
                        "vcpus": have_f.vcpus,
                        "ram_mb": have_f.ram_mb,
                        "disk_gb": have_f.disk_gb,
                    },
                    after=spec,
                )
            )
    wanted_flavors = {f.name for f in x.state.flavors}
    for af in x.actual.flavors:
        if af.description.startswith("cgcloud: ") and af.name not in wanted_flavors:
            x.add(
                Change(
                    "report",
                    "flavor",
                    GLOBAL,
                    af.name,
                    [],
                    _("本年度的申请单已不需要此规格；规格不会被删除（可能仍在使用）"),
                    id=af.id,
                )
            )
