"""The semantic diff of two policy repositories: what access and resources a change
grants or takes away, row by row (pure: two loaded repositories in, changes out).

Rows are matched by content, never by position: a row is its system, source and
target zones, source and target address sets (normalised: ``58.33.33.33-40`` and
the CIDRs it becomes are the same row), port set and the window it is open in.
Reordering rows, moving a row to another form of the same system, editing YAML
comments or a row's ``note`` is therefore no change. Unmatched rows are paired
when they share their zones and two of (source, target, ports): such a pair is a
widening, a narrowing or a change of one grant rather than a grant plus a
revocation.

CG405 (approval-not-renewed) lives here too, because it needs both revisions:
see ``stale_approvals``.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cgcloud import clock, grammar, model
from cgcloud.findings import Finding
from cgcloud.i18n import N_, _

# effect of a change on access or resources
GRANT, REVOKE, MIXED, NEUTRAL = "grant", "revoke", "mixed", "neutral"

KIND_LABELS = {
    "NetworkPolicy": N_("网络策略备案表"),
    "ResourceApplication": N_("云资源及安全服务申请单"),
    "ShutdownNotice": N_("云主机关停通知单"),
    "ProjectApplication": N_("项目云资源开通申请单"),
    "AnnualPlan": N_("年度计划"),
    "Zones": N_("区域模型"),
    "HighRiskPorts": N_("高危端口清单"),
    "Roster": N_("签字人名册"),
}


@dataclass(slots=True)
class Change:
    """One semantic change. ``kind`` is a stable ASCII key (json, tests, CI)."""

    kind: str
    effect: str
    system: str
    form: str
    message: str
    file: str = ""
    line: int = 0
    high_risk: bool = False
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (
            self.system,
            self.form,
            _ORDER.get(self.kind, 99),
            self.file,
            self.line,
            self.message,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "effect": self.effect,
            "system": self.system,
            "form": self.form,
            "high_risk": self.high_risk,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }
        if self.before is not None:
            out["before"] = self.before
        if self.after is not None:
            out["after"] = self.after
        return out


_ORDER = {
    k: i
    for i, k in enumerate(
        [
            "form-added",
            "form-removed",
            "form-changed",
            "site-changed",
            "signatures-changed",
            "high-risk-opened",
            "access-granted",
            "access-widened",
            "access-changed",
            "access-narrowed",
            "access-revoked",
            "high-risk-extended",
            "high-risk-moved",
            "high-risk-shortened",
            "window-extended",
            "window-moved",
            "window-shortened",
            "resources-up",
            "resources-down",
            "shutdown-added",
            "shutdown-changed",
            "shutdown-removed",
        ]
    )
}


@dataclass(slots=True)
class SemanticDiff:
    base: str
    head: str
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # CG405
    base_unread: list[Finding] = field(default_factory=list)
    head_unread: list[Finding] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def count(self, effect: str) -> int:
        return sum(1 for c in self.changes if c.effect == effect)

    @property
    def summary(self) -> dict[str, int]:
        return {
            "changes": len(self.changes),
            "grants": self.count(GRANT),
            "revocations": self.count(REVOKE),
            "mixed": self.count(MIXED),
            "other": self.count(NEUTRAL),
            "stale_approvals": len(self.findings),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "summary": self.summary,
            "changes": [c.to_dict() for c in self.changes],
            "findings": [f.to_dict() for f in self.findings],
            "unread": {
                "base": [f.to_dict() for f in self.base_unread],
                "head": [f.to_dict() for f in self.head_unread],
            },
        }


# --------------------------------------------------------------------------- rows


@dataclass(slots=True)
class RowFact:
    """One row as a grant: what it opens, from where to where, when."""

    system: str
    form: str
    at: model.At
    number: int
    from_zone: str
    to_zone: str
    source: grammar.Address | None
    target: grammar.Address | None
    ports: grammar.Ports | None
    source_key: str
    target_key: str
    ports_key: str
    window: clock.Window | None
    high_risk: bool
    source_text: str
    target_text: str
    port_text: str
    key: tuple[str, ...] = ()
    full_key: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        # computed once: every row is hashed several times while matching
        self.key = (
            self.system,
            self.from_zone,
            self.to_zone,
            self.source_key,
            self.target_key,
            self.ports_key,
        )
        w = self.window
        self.full_key = (*self.key, (w.start, w.end) if w else None)

    @property
    def file(self) -> str:
        return self.at.file

    @property
    def line(self) -> int:
        """Located only for rows that are reported (locating every row costs seconds)."""
        return self.at.doc.locate(self.at.path).line

    def describe(self) -> str:
        return _("{f} {s} → {t} {tg} 端口 {p}").format(
            f=self.from_zone,
            s=_addr_text(self.source, self.source_text),
            t=self.to_zone,
            tg=_addr_text(self.target, self.target_text),
            p=_ports_text(self.ports, self.port_text),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "file": self.file,
            "line": self.line,
            "row": self.number,
            "from": self.from_zone,
            "source": _addr_text(self.source, self.source_text),
            "to": self.to_zone,
            "target": _addr_text(self.target, self.target_text),
            "ports": _ports_text(self.ports, self.port_text),
            "window": _wtext(self.window),
            "high_risk": self.high_risk,
        }


def _wkey(w: clock.Window | None) -> str:
    return f"{w.start}/{w.end}" if w else "-"


def _wtext(w: clock.Window | None) -> str:
    return str(w) if w else _("无使用期")


def _addr_key(a: grammar.Address | None, text: str) -> str:
    if a is None:
        return "raw:" + text.strip()
    if a.any:
        return "any"
    if a.placeholder:
        return "ph:" + a.placeholder
    return ",".join(f"{lo}-{hi}" for lo, hi in a.ranges)


def _addr_text(a: grammar.Address | None, text: str) -> str:
    if a is None or a.placeholder:
        return text.strip()
    if a.any:
        return _("任意地址(0.0.0.0)")
    return _("、").join(a.cidrs)


def _ports_text(p: grammar.Ports | None, text: str) -> str:
    return text.strip() if p is None else (_("全部端口(/)") if p.any else str(p))


def _zone(z: model.Zone | None, ref: str) -> str:
    return z.name if z is not None else ref


def row_facts(repo: model.Repository, skip: frozenset[str] = frozenset()) -> list[RowFact]:
    """Every row of ``repo`` as a grant, except those of the forms in ``skip``."""
    out = []
    for p in repo.policies:
        if p.id in skip:
            continue
        for r in p.rules:
            out.append(
                RowFact(
                    system=p.system,
                    form=p.id,
                    at=r.at,
                    number=r.number,
                    from_zone=_zone(r.from_zone, r.from_ref),
                    to_zone=_zone(r.to_zone, r.to_ref),
                    source=r.source,
                    target=r.target,
                    ports=r.ports,
                    source_key=_addr_key(r.source, r.source_text),
                    target_key=_addr_key(r.target, r.target_text),
                    ports_key=str(r.ports) if r.ports is not None else "raw:" + r.port_text.strip(),
                    window=p.window_of(r),
                    high_risk=p.is_high_risk(r),
                    source_text=r.source_text,
                    target_text=r.target_text,
                    port_text=r.port_text,
                )
            )
    return out


def _covers_addr(a: grammar.Address | None, b: grammar.Address | None) -> bool | None:
    if a is None or b is None:
        return None
    return a.covers(b)


def _covers_ports(a: grammar.Ports | None, b: grammar.Ports | None) -> bool | None:
    if a is None or b is None:
        return None
    return a.covers(b)


def _covers_window(a: clock.Window | None, b: clock.Window | None) -> bool | None:
    if a is None or b is None:
        return None if (a is None) != (b is None) else True
    return a.covers(b)


def _compare(old: RowFact, new: RowFact) -> str:
    """GRANT when ``new`` covers ``old`` (wider), REVOKE when narrower, else MIXED."""
    wider = [
        _covers_addr(new.source, old.source),
        _covers_addr(new.target, old.target),
        _covers_ports(new.ports, old.ports),
        _covers_window(new.window, old.window),
    ]
    narrower = [
        _covers_addr(old.source, new.source),
        _covers_addr(old.target, new.target),
        _covers_ports(old.ports, new.ports),
        _covers_window(old.window, new.window),
    ]
    if all(x is True for x in wider):
        return GRANT
    if all(x is True for x in narrower):
        return REVOKE
    return MIXED


def _window_change(old: clock.Window | None, new: clock.Window | None) -> str:
    if old is not None and new is not None:
        if new.covers(old):
            return "extended"
        if old.covers(new):
            return "shortened"
    return "moved"


def _diff_rows(
    base: list[RowFact], head: list[RowFact], unchanged: Callable[[], list[RowFact]] = list
) -> list[Change]:
    """``unchanged``: the rows of head forms left out of both sides because they did not
    change at all (asked for only when a new row might renew one of them)."""
    changes: list[Change] = []
    # 1. identical grants (same content, same window): no change, whatever the order
    head_full = Counter(r.full_key for r in head)
    base_full = Counter(r.full_key for r in base)
    common = head_full & base_full
    left_base, left_head = _drop(base, common), _drop(head, common)
    kept_rows: dict[tuple[str, ...], RowFact] | None = None

    def kept(key: tuple[str, ...]) -> RowFact | None:
        nonlocal kept_rows
        if kept_rows is None:
            kept_rows = {r.key: r for r in unchanged()}
            kept_rows.update((r.key, r) for r in head if r.full_key in common)
        return kept_rows.get(key)

    # 2. same content, another window
    by_key: dict[tuple[str, ...], list[RowFact]] = {}
    for r in left_base:
        by_key.setdefault(r.key, []).append(r)
    rest_head = []
    for new in left_head:
        olds = by_key.get(new.key)
        if olds:
            old = olds.pop(0)
            how = _window_change(old.window, new.window)
            hr = new.high_risk or old.high_risk
            kind = ("high-risk-" if hr else "window-") + how
            effect = {"extended": GRANT, "shortened": REVOKE, "moved": MIXED}[how]
            msg = (
                _("高危端口使用期{how}: {row}，{old} → {new}")
                if hr
                else _("使用期{how}: {row}，{old} → {new}")
            ).format(
                how=_HOW[how], row=new.describe(), old=_wtext(old.window), new=_wtext(new.window)
            )
            changes.append(_row_change(kind, effect, new, msg, old))
        else:
            rest_head.append(new)
    rest_base = [r for rs in by_key.values() for r in rs]
    # 3. pair what is left: same zones and two of (source, target, ports) equal
    pairing = _Pairing(rest_base)
    for new in rest_head:
        paired = pairing.take(new)
        renewed = kept(new.key) if paired is None else None
        if (
            renewed is not None and renewed.full_key != new.full_key
        ):  # the same grant again, for another window
            how = "extended"
            kind = ("high-risk-" if new.high_risk else "window-") + how
            msg = _("续期: {row}，在 {old} 之外新增使用期 {w}").format(
                row=new.describe(), old=_wtext(renewed.window), w=_wtext(new.window)
            )
            changes.append(_row_change(kind, GRANT, new, msg, renewed))
            continue
        if paired is None:
            kind = "high-risk-opened" if new.high_risk else "access-granted"
            msg = (
                _("新开放高危端口: {row}，使用期 {w}")
                if new.high_risk
                else _("新授权访问: {row}，使用期 {w}")
            ).format(row=new.describe(), w=_wtext(new.window))
            changes.append(_row_change(kind, GRANT, new, msg))
            continue
        old = paired
        effect = _compare(old, new)
        kind = {GRANT: "access-widened", REVOKE: "access-narrowed", MIXED: "access-changed"}[effect]
        label = {GRANT: _("访问放宽"), REVOKE: _("访问收窄"), MIXED: _("访问变更")}[effect]
        msg = _("{label}: {row}；{what}").format(
            label=label, row=old.describe(), what=_("；").join(_deltas(old, new))
        )
        changes.append(_row_change(kind, effect, new, msg, old))
    for old in pairing.left():
        msg = _("撤销访问: {row}，原使用期 {w}").format(row=old.describe(), w=_wtext(old.window))
        c = _row_change("access-revoked", REVOKE, old, msg)
        c.after, c.before = None, old.to_dict()
        changes.append(c)
    return changes


def _deltas(old: RowFact, new: RowFact) -> list[str]:
    """What differs between two paired rows, cell by cell."""
    out = []
    if old.source_key != new.source_key:
        out.append(
            _("源地址 {a} → {b}").format(
                a=_addr_text(old.source, old.source_text), b=_addr_text(new.source, new.source_text)
            )
        )
    if old.target_key != new.target_key:
        out.append(
            _("目标地址 {a} → {b}").format(
                a=_addr_text(old.target, old.target_text), b=_addr_text(new.target, new.target_text)
            )
        )
    if old.ports_key != new.ports_key:
        out.append(
            _("端口 {a} → {b}").format(
                a=_ports_text(old.ports, old.port_text), b=_ports_text(new.ports, new.port_text)
            )
        )
    if _wkey(old.window) != _wkey(new.window):
        out.append(_("使用期 {a} → {b}").format(a=_wtext(old.window), b=_wtext(new.window)))
    return out


_HOW = {"extended": N_("延长"), "shortened": N_("缩短"), "moved": N_("调整")}


def _drop(rows: list[RowFact], common: Counter[tuple[Any, ...]]) -> list[RowFact]:
    left = Counter(common)
    out = []
    for r in rows:
        if left[r.full_key] > 0:
            left[r.full_key] -= 1
        else:
            out.append(r)
    return out


class _Pairing:
    """Unmatched base rows, findable by (zones + two of source/target/ports) in O(1), so
    pairing thousands of changed rows is not quadratic. The earliest base row wins."""

    def __init__(self, rows: list[RowFact]) -> None:
        self.rows = rows
        self.used = [False] * len(rows)
        self.index: dict[tuple[str, ...], deque[int]] = {}
        for i, r in enumerate(rows):
            for k in self._keys(r):
                self.index.setdefault(k, deque()).append(i)

    @staticmethod
    def _keys(r: RowFact) -> list[tuple[str, ...]]:
        zones = (r.system, r.from_zone, r.to_zone)
        return [
            (*zones, "st", r.source_key, r.target_key),
            (*zones, "sp", r.source_key, r.ports_key),
            (*zones, "tp", r.target_key, r.ports_key),
        ]

    def take(self, new: RowFact) -> RowFact | None:
        best: int | None = None
        for k in self._keys(new):
            candidates = self.index.get(k)
            while candidates and self.used[candidates[0]]:
                candidates.popleft()  # taken through another key
            if candidates:
                best = candidates[0] if best is None else min(best, candidates[0])
        if best is None:
            return None
        self.used[best] = True
        return self.rows[best]

    def left(self) -> list[RowFact]:
        return [r for r, used in zip(self.rows, self.used, strict=True) if not used]


def _row_change(
    kind: str, effect: str, new: RowFact, msg: str, old: RowFact | None = None
) -> Change:
    return Change(
        kind=kind,
        effect=effect,
        system=new.system,
        form=new.form,
        message=msg,
        file=new.file,
        line=new.line,
        high_risk=new.high_risk or (old.high_risk if old else False),
        before=old.to_dict() if old else None,
        after=new.to_dict(),
    )


# --------------------------------------------------------------------------- forms

_UNORDERED = frozenset(
    {
        "rules",
        "resources",
        "hosts",
        "forms",
        "accounts",
        "people",
        "ports",
        "zones",
        "flows",
        "default_egress",
        "bastions",
        "operators",
    }
)


def canon(data: Any, key: str = "") -> Any:
    """The content of a document, without what carries no meaning: key order, the order
    of rows/resources/hosts, and a row's ``note``."""
    if isinstance(data, dict):
        return {
            k: canon(v, k) for k, v in sorted(data.items()) if not (key == "rules" and k == "note")
        }
    if isinstance(data, list):
        items = [canon(v, key) for v in data]
        if key in _UNORDERED:
            items.sort(key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False, default=str))
        return items
    return data


_RAW: dict[int, str] = {}  # id(document) → _raw, only while an entry point runs


@contextmanager
def _raw_cache() -> Iterator[None]:
    _RAW.clear()
    try:
        yield
    finally:
        _RAW.clear()


def _raw(part: Any) -> str:
    """The document as written (keys sorted): equal raw text means nothing changed, and
    comparing it is far cheaper than building the canonical form."""
    doc = part.at.doc
    text = _RAW.get(id(doc))
    if text is None:
        text = json.dumps(doc.data, sort_keys=True, ensure_ascii=False, default=str)
        _RAW[id(doc)] = text
    return text


def _same(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is new
    return _raw(old) == _raw(new) or _content(old) == _content(new)


def _content(part: Any) -> Any:
    """What a form says, for "changed": rows by meaning (the same addresses written
    another way, a zone by id or by name, are the same row)."""
    if part is None:
        return None
    data = canon(part.at.doc.data)
    if isinstance(part, model.NetworkPolicy) and isinstance(data.get("spec"), dict):
        data["spec"]["rules"] = sorted(_row_content(r) for r in part.rules)
    return data


def _where(part: Any) -> tuple[str, int]:
    pos = part.at.doc.locate(part.at.path)
    return part.at.file, pos.line


def _form_changes(base: model.Repository, head: model.Repository) -> list[Change]:
    out: list[Change] = []
    bf = {(f.kind, f.id): f for f in base.forms}
    hf = {(f.kind, f.id): f for f in head.forms}
    for key in sorted(hf.keys() - bf.keys()):
        f = hf[key]
        file, line = _where(f)
        out.append(
            Change(
                "form-added",
                NEUTRAL,
                _system(f),
                f.id,
                _("新增表单 {id}（{kind}）").format(id=f.id, kind=_(KIND_LABELS[f.kind])),
                file,
                line,
            )
        )
    for key in sorted(bf.keys() - hf.keys()):
        f = bf[key]
        file, line = _where(f)
        out.append(
            Change(
                "form-removed",
                NEUTRAL,
                _system(f),
                f.id,
                _("删除表单 {id}（{kind}）").format(id=f.id, kind=_(KIND_LABELS[f.kind])),
                file,
                line,
            )
        )
    for key in sorted(hf.keys() & bf.keys()):
        old, new = bf[key], hf[key]
        if _same(old, new):
            continue
        file, line = _where(new)
        out.append(
            Change(
                "form-changed",
                NEUTRAL,
                _system(new),
                new.id,
                _("修改表单 {id}（{kind}）").format(id=new.id, kind=_(KIND_LABELS[new.kind])),
                file,
                line,
            )
        )
        sigs = _signature_changes(old, new)
        if sigs:
            out.append(
                Change(
                    "signatures-changed",
                    NEUTRAL,
                    _system(new),
                    new.id,
                    _("{id} 签字变更: {what}").format(id=new.id, what=_("；").join(sigs)),
                    file,
                    line,
                )
            )
    for kind, attr in (
        ("Zones", "zones"),
        ("HighRiskPorts", "high_risk_ports"),
        ("Roster", "roster"),
    ):
        old_part, new_part = getattr(base, attr), getattr(head, attr)
        if not _same(old_part, new_part):
            where = new_part or old_part
            file, line = _where(where)
            out.append(
                Change(
                    "site-changed",
                    NEUTRAL,
                    "",
                    kind,
                    _("{what}已修改（影响整个仓库）").format(what=_(KIND_LABELS[kind])),
                    file,
                    line,
                )
            )
    return out


def _system(f: model.Form) -> str:
    if isinstance(f, model.ProjectApplication):
        return f.project
    if isinstance(f, model.AnnualPlan):
        return f.department
    return f.system


def boxes(form: model.Form) -> dict[str, model.Signature]:
    """Every modelled signature box of a form, by role."""
    if isinstance(form, model.ResourceApplication):
        out = dict(form.approvals)
        if form.expert_review is not None:
            out["expert_review"] = form.expert_review
        return out
    if isinstance(form, model.NetworkPolicy):
        out = dict(form.reviewers)
        if form.high_risk is not None and form.high_risk.exception is not None:
            out["exception"] = form.high_risk.exception
        return out
    if isinstance(form, model.ShutdownNotice):
        return {
            k: s
            for k, s in (
                ("tech_division", form.tech_division),
                ("business_division", form.business_division),
                ("operator", form.operator),
            )
            if s is not None
        }
    if isinstance(form, model.ProjectApplication):
        return dict(form.signoffs)
    return {}


def _sig_text(s: model.Signature | None) -> str:
    return f"{s.by} {s.date}" if s is not None and s.signed else _("未签")


def _box_label(role: str) -> str:
    """A signature box's name in the user's language (the rules mark the names)."""
    from cgcloud.rules.signatures import role_name

    return role_name(role)


def _signature_changes(old: model.Form, new: model.Form) -> list[str]:
    ob, nb = boxes(old), boxes(new)
    out = []
    for role in sorted(ob.keys() | nb.keys()):
        a, b = _sig_text(ob.get(role)), _sig_text(nb.get(role))
        if a != b:
            out.append(f"{_box_label(role)} {a} → {b}")
    return out


# --------------------------------------------------------------------------- resources

_RES_LABEL = {
    "server": N_("云主机"),
    "volume": N_("云硬盘"),
    "public_ip": N_("公网 IP"),
    "domain": N_("域名备案"),
    "license": N_("软件许可"),
    "security_service": N_("安全服务"),
}


def _res_key(r: model.Resource) -> tuple[str, str, str]:
    """(type, spec, unit) of a resource line; its quantity is ``_res_qty``."""
    f = r.fields
    if r.type == "server":
        spec = _("{c}核/{m}GB/{d}GB系统盘").format(
            c=f.get("vcpu"), m=f.get("memory_gb"), d=f.get("system_disk_gb")
        )
        return r.type, spec, _("台")
    if r.type == "volume":
        return r.type, str(f.get("tier", "")), "GB"
    if r.type in ("license", "security_service"):
        return r.type, str(f.get("product", "")), _("套")
    return r.type, "", _("个")


def _res_qty(r: model.Resource) -> int:
    return int(r.fields.get("size_gb", 0)) if r.type == "volume" else r.count()


def _approved_resources(f: model.ResourceApplication | None) -> Counter[tuple[str, str, str]]:
    c: Counter[tuple[str, str, str]] = Counter()
    if f is not None and f.approved:
        for r in f.resources:
            c[_res_key(r)] += _res_qty(r)
    return c


def _resource_changes(base: model.Repository, head: model.Repository) -> list[Change]:
    out = []
    bf = {f.id: f for f in base.applications}
    hf = {f.id: f for f in head.applications}
    for fid in sorted(bf.keys() | hf.keys()):
        old, new = bf.get(fid), hf.get(fid)
        a, b = _approved_resources(old), _approved_resources(new)
        ref = new or old
        assert ref is not None
        file, line = _where(ref)
        for key in sorted(a.keys() | b.keys()):
            before, after = a.get(key, 0), b.get(key, 0)
            if before == after:
                continue
            rtype, spec, unit = key
            what = _(_RES_LABEL.get(rtype, rtype)) + (f" {spec}" if spec else "")
            up = after > before
            msg = (
                _("{year} 年批准资源增加: {what} {b} → {a} {unit}")
                if up
                else _("{year} 年批准资源减少: {what} {b} → {a} {unit}")
            ).format(year=ref.year, what=what, b=before, a=after, unit=unit)
            out.append(
                Change(
                    "resources-up" if up else "resources-down",
                    GRANT if up else REVOKE,
                    ref.system,
                    fid,
                    msg,
                    file,
                    line,
                    before={"type": rtype, "spec": spec, "quantity": before},
                    after={"type": rtype, "spec": spec, "quantity": after},
                )
            )
    return out


# --------------------------------------------------------------------------- shutdowns


def _hosts(s: model.ShutdownNotice) -> list[str]:
    return [_("该系统全部主机")] if s.all_hosts else sorted(h for h, _at in s.hosts)


def deletion_day(s: model.ShutdownNotice) -> date | None:
    """The earliest day the hosts can be deleted: seven full days after a power-off on
    the shutdown date (the real clock starts at the recorded power-off)."""
    return clock.add_days(s.shutdown_date, 8) if s.shutdown_date else None


def _shutdown_text(s: model.ShutdownNotice) -> str:
    return _(
        "{system}: {hosts} 自 {day} 起关机（运维单位确认关停前准备后），关机满 7 天后（最早 {gone}）"
        "删除主机、云硬盘、端口、浮动 IP 并回收资源"
    ).format(
        system=s.system,
        hosts=_("、").join(_hosts(s)),
        day=s.shutdown_date or _("未定"),
        gone=deletion_day(s) or _("未定"),
    )


def _shutdown_changes(base: model.Repository, head: model.Repository) -> list[Change]:
    out = []
    bf = {f.id: f for f in base.shutdowns}
    hf = {f.id: f for f in head.shutdowns}
    for fid in sorted(bf.keys() | hf.keys()):
        old, new = bf.get(fid), hf.get(fid)
        if new is not None and old is None:
            file, line = _where(new)
            out.append(
                Change(
                    "shutdown-added",
                    REVOKE,
                    new.system,
                    fid,
                    _("新增关停: ") + _shutdown_text(new),
                    file,
                    line,
                    after={
                        "hosts": _hosts(new),
                        "shutdown_date": str(new.shutdown_date),
                        "delete_from": str(deletion_day(new)),
                    },
                )
            )
        elif old is not None and new is None:
            file, line = _where(old)
            out.append(
                Change(
                    "shutdown-removed",
                    GRANT,
                    old.system,
                    fid,
                    _("撤回关停: ") + _shutdown_text(old),
                    file,
                    line,
                )
            )
        elif (
            old is not None
            and new is not None
            and (_hosts(old) != _hosts(new) or old.shutdown_date != new.shutdown_date)
        ):
            file, line = _where(new)
            out.append(
                Change(
                    "shutdown-changed",
                    MIXED,
                    new.system,
                    fid,
                    _("关停变更: {old} → {new}").format(
                        old=_shutdown_text(old), new=_shutdown_text(new)
                    ),
                    file,
                    line,
                    before={"hosts": _hosts(old), "shutdown_date": str(old.shutdown_date)},
                    after={"hosts": _hosts(new), "shutdown_date": str(new.shutdown_date)},
                )
            )
    return out


# --------------------------------------------------------------------------- CG405


def _approved_parts(form: model.Form) -> dict[tuple[str, ...], Any]:
    """What each group of signature boxes approves: boxes → the content they sign."""
    if isinstance(form, model.NetworkPolicy):
        normal = sorted(_row_content(r) for r in form.rules if not form.is_high_risk(r))
        high = sorted(_row_content(r) for r in form.rules if form.is_high_risk(r))
        n_sec, h_sec = form.normal, form.high_risk
        return {
            ("cloud_resource_manager",): (normal, _sec(n_sec)),
            model.REVIEWER_ROLES: (high, _sec(h_sec)),
        }
    if isinstance(form, model.ResourceApplication):
        spec = form.at.doc.data.get("spec", {})
        content = canon({k: spec.get(k) for k in ("type", "year", "reason", "resources")})
        return {model.APPROVAL_ORDER + (("expert_review",) if form.expert_review else ()): content}
    if isinstance(form, model.ShutdownNotice):
        content = (_hosts(form), str(form.shutdown_date), str(form.prepare_by))
        return {("tech_division", "business_division"): content}
    if isinstance(form, model.ProjectApplication):
        spec = form.at.doc.data.get("spec", {})
        return {model.PROJECT_SIGNOFFS: canon({k: spec.get(k) for k in ("forms", "accounts")})}
    return {}


def _row_content(r: model.Row) -> tuple[str, ...]:
    return (
        _zone(r.from_zone, r.from_ref),
        _addr_key(r.source, r.source_text),
        _zone(r.to_zone, r.to_ref),
        _addr_key(r.target, r.target_text),
        str(r.ports) if r.ports is not None else r.port_text.strip(),
    )


def _sec(s: model.Section | None) -> Any:
    if s is None:
        return None
    return [s.reason.strip(), _wkey(s.window)]


def _copied(old: model.Signature | None, new: model.Signature | None) -> bool:
    """A signed box at head that is the base's box (same signer, same date) or dated
    before it: it cannot be an approval of content that changed after the base."""
    if old is None or new is None or not old.signed or not new.signed:
        return False
    assert old.date is not None and new.date is not None
    return (old.by, old.date) == (new.by, new.date) or new.date < old.date


def stale_approvals(base: model.Repository, head: model.Repository) -> list[Finding]:
    """CG405: content changed since ``base`` under a signature that did not.

    For each form present in both revisions and each group of boxes (what it
    approves, see docs/gitops.md), when the approved content changed, every box of
    the group that is signed at head must carry a new signature: another date
    later than the base's (or another signer on the same day or later)."""
    with _raw_cache():
        return _stale_approvals(base, head)


def _stale_approvals(base: model.Repository, head: model.Repository) -> list[Finding]:
    from cgcloud.rules.approvals import CG405

    out: list[Finding] = []
    bf = {(f.kind, f.id): f for f in base.forms}
    for new in head.forms:
        old = bf.get((new.kind, new.id))
        if old is None or _raw(old) == _raw(new):
            continue
        old_parts, new_parts = _approved_parts(old), _approved_parts(new)
        ob, nb = boxes(old), boxes(new)
        flagged: set[str] = set()
        for group, content in new_parts.items():
            if old_parts.get(group) == content:
                continue
            for role in group:
                if role in flagged or not _copied(ob.get(role), nb.get(role)):
                    continue
                flagged.add(role)
                sig = nb[role]
                out.append(
                    CG405.at(
                        sig.at,
                        _(
                            "{form} 的内容自基准版本以来已修改，但 {box} 的签字（{by} {date}）未更新："
                            "沿用的签字不是对新内容的审批"
                        ).format(form=new.id, box=_box_label(role), by=sig.by, date=sig.date),
                        _("请由签字人审阅修改后的内容并重新签字（日期晚于原签字日期），或撤回修改"),
                        form=new,
                    )
                )
    out.sort(key=lambda f: f.sort_key)
    return out


# --------------------------------------------------------------------------- entry point


def diff(
    base: model.Repository, head: model.Repository, base_label: str = "", head_label: str = ""
) -> SemanticDiff:
    """Everything that changed in meaning between two repositories, sorted deterministically."""
    with _raw_cache():
        same = _untouched_policies(base, head)
        changes = [
            *_form_changes(base, head),
            *_diff_rows(row_facts(base, same), row_facts(head, same), lambda: _only(head, same)),
            *_resource_changes(base, head),
            *_shutdown_changes(base, head),
        ]
        changes.sort(key=lambda c: c.sort_key)
        return SemanticDiff(base_label, head_label, changes, _stale_approvals(base, head))


def _untouched_policies(base: model.Repository, head: model.Repository) -> frozenset[str]:
    """NetworkPolicies written identically in both revisions, with the same site model:
    their rows are the same on both sides and need not be compared one by one
    (at 50,000 rows that is most of the diff's time)."""
    if not (_same(base.zones, head.zones) and _same(base.high_risk_ports, head.high_risk_ports)):
        return frozenset()
    ids_b = Counter(p.id for p in base.policies)
    ids_h = Counter(p.id for p in head.policies)
    olds = {p.id: p for p in base.policies}
    return frozenset(
        p.id
        for p in head.policies
        if ids_b[p.id] == 1 and ids_h[p.id] == 1 and _raw(olds[p.id]) == _raw(p)
    )


def _only(repo: model.Repository, ids: frozenset[str]) -> list[RowFact]:
    return row_facts(repo, frozenset(p.id for p in repo.policies if p.id not in ids))


__all__ = ["Change", "SemanticDiff", "diff", "stale_approvals"]
