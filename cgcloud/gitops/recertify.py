"""Recertification: grants that expire soon, and renewal drafts for the next period.

A grant is never renewed by cgcloud: it writes the next period's copy of the form
with every signature box empty, on its own branch, in one commit. The reviewers
sign it in the pull request; merging it, signed, is the attestation (the
firewall-lifecycle products' "recertification campaign", in git).

Next periods: a high-risk window → the next window of at most one calendar month
(第十三条) starting the day after; a normal period → the same number of days
starting the day after; an annual resource approval → the next year.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from cgcloud import clock, model
from cgcloud.i18n import N_, _

WHAT = {
    "high_risk": N_("高危端口使用期"),
    "normal": N_("普通端口使用期"),
    "annual": N_("年度批准资源"),
}


@dataclass(slots=True)
class Expiring:
    """One grant whose period ends within the horizon."""

    kind: str  # high_risk | normal | annual (stable keys)
    form: model.Form
    end: date
    next_start: date
    next_end: date
    approved: bool
    days_left: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "form": self.form.id,
            "system": self.form.system,
            "file": self.form.at.file,
            "ends": self.end.isoformat(),
            "days_left": self.days_left,
            "approved": self.approved,
            "next": {"start": self.next_start.isoformat(), "end": self.next_end.isoformat()},
        }


def _policy_signed(p: model.NetworkPolicy, high: bool) -> bool:
    roles = model.REVIEWER_ROLES if high else ("cloud_resource_manager",)
    return all((s := p.reviewers.get(r)) is not None and s.signed for r in roles)


def expiring(repo: model.Repository, today: date, days: int) -> list[Expiring]:
    """Every grant whose last day falls in ``today … today + days`` (inclusive)."""
    horizon = clock.add_days(today, days)
    out: list[Expiring] = []

    def add(
        kind: str, form: model.Form, end: date, start: date, nend: date, approved: bool
    ) -> None:
        if today <= end <= horizon:
            out.append(Expiring(kind, form, end, start, nend, approved, (end - today).days))

    for p in repo.policies:
        if p.high_risk is not None and p.high_risk.window is not None and p.high_risk_rows:
            w = p.high_risk.window
            start = clock.add_days(w.end, 1)
            add(
                "high_risk",
                p,
                w.end,
                start,
                clock.max_high_risk_end(start),
                _policy_signed(p, True),
            )
        has_normal = any(not p.is_high_risk(r) for r in p.rules)
        if p.normal is not None and p.normal.window is not None and has_normal:
            w = p.normal.window
            start = clock.add_days(w.end, 1)
            add("normal", p, w.end, start, next_end(w, start), _policy_signed(p, False))
    for a in repo.applications:
        if a.approved and a.year and a.year < date.max.year:  # 9999 has no next year
            end = date(a.year, 12, 31)
            add("annual", a, end, date(a.year + 1, 1, 1), date(a.year + 1, 12, 31), True)
    out.sort(key=lambda e: (e.end, e.form.id, e.kind))
    return out


def next_end(w: clock.Window, start: date) -> date:
    """The same length again from ``start``: in calendar months when the period is whole
    months (a year stays a year, leap or not), else in days."""
    after = clock.add_days(w.end, 1)
    months = (after.year - w.start.year) * 12 + after.month - w.start.month
    if months > 0 and clock.add_months(w.start, months) == after:
        return clock.add_days(clock.add_months(start, months), -1)
    return clock.add_days(start, w.days - 1)


# --------------------------------------------------------------------------- drafts


def draft_id(form_id: str, start: date) -> str:
    return f"{form_id}-R{start:%Y%m%d}"


def draft(repo: model.Repository, items: list[Expiring]) -> dict[str, Any]:
    """The renewal form (plain data) for the expiring grants of one form."""
    form = items[0].form
    data = json.loads(json.dumps(form.at.doc.data, default=str))
    first = min(items, key=lambda e: e.next_start)
    data["metadata"]["id"] = draft_id(form.id, first.next_start)
    spec = data["spec"]
    if isinstance(form, model.NetworkPolicy):
        kinds = {e.kind: e for e in items}
        keep = []
        for row, raw in zip(form.rules, spec.get("rules", []), strict=False):
            high = form.is_high_risk(row)
            if ("high_risk" if high else "normal") in kinds:
                keep.append(raw)
        spec["rules"] = keep
        for kind in ("normal", "high_risk"):
            if kind in kinds:
                e = kinds[kind]
                section = dict(spec.get(kind) or {})
                section.pop("exception", None)
                section["period"] = {
                    "start": e.next_start.isoformat(),
                    "end": e.next_end.isoformat(),
                }
                section["reason"] = _("续期（{id}）：").format(id=form.id) + str(
                    section.get("reason", "")
                )
                spec[kind] = section
            else:
                spec.pop(kind, None)
        spec["reviewers"] = {r: None for r in model.REVIEWER_ROLES}
    elif isinstance(form, model.ResourceApplication):
        spec["year"] = first.next_start.year
        spec["reason"] = _("续期（{id}）：").format(id=form.id) + str(spec.get("reason", ""))
        spec["approvals"] = {r: None for r in model.APPROVAL_ORDER}
        spec.pop("expert_review", None)
    return dict(data)


def draft_path(form: model.Form, start: date) -> str:
    """Next to the original file: ``network-policy.yaml`` → ``network-policy.R20270201.yaml``."""
    p = PurePosixPath(form.at.file)
    return str(p.with_name(f"{p.stem}.R{start:%Y%m%d}{p.suffix}"))


def group(items: list[Expiring]) -> list[list[Expiring]]:
    by: dict[tuple[str, str], list[Expiring]] = {}
    for e in items:
        by.setdefault((e.form.kind, e.form.id), []).append(e)
    return list(by.values())


# --------------------------------------------------------------------------- YAML text


def to_yaml(data: dict[str, Any], header: str = "") -> str:
    """Block YAML for a form; rows and resources as one flow mapping per line, like the
    shipped examples. Strings are double-quoted (JSON escapes are valid YAML), so no
    value can be misread (``no``, ``2027-01-01``, ``TCP80,443``)."""
    lines = [f"# {ln}" if ln else "#" for ln in header.splitlines()]
    lines += _block(data, 0)
    return "\n".join(lines) + "\n"


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return json.dumps(v)
    return json.dumps(str(v), ensure_ascii=False)


def _flow(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def _block(d: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    out = []
    for k, v in d.items():
        if isinstance(v, dict) and v and any(isinstance(x, dict) for x in v.values()):
            out.append(f"{pad}{k}:")
            out += _block(v, indent + 2)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            out.append(f"{pad}{k}:")
            out += [f"{pad}  - {_flow(x)}" for x in v]
        else:
            out.append(f"{pad}{k}: {_flow(v)}")
    return out
