"""What the forms of a repository grant, for a reviewer reading a pull request.

``explain(repo, now, fmt)`` reads only the model (never the YAML again): for each
network-policy form the effective window of every row (normal vs high-risk,
active now or not, days left), the CIDRs each address becomes, which rows are
high-risk and which HighRiskPorts entries made them so, and the bastion-only rows;
for resource applications the totals and whether they are approved; for shutdown
notices the lifecycle dates; for project applications the bundled forms and the
four sign-offs. ``collect`` gives the same as plain data (the ``json`` format).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from cgcloud import clock, lifecycle, model
from cgcloud.i18n import N_, _, ngettext

FORMATS = ("text", "markdown", "json")
JSON_FORMAT_VERSION = 1

# labels are marked here and translated where shown (and in ``collect``'s lists)
REVIEWER_LABELS = {
    "cloud_resource_manager": N_("审核人1 云资源管理人"),
    "business_leader": N_("审核人2 对口业务分管负责人"),
    "cloud_resource_leader": N_("审核人3 云资源分管负责人"),
}
APPROVAL_LABELS = {
    "department": N_("申请处室审核"),
    "initial": N_("科技处初审"),
    "recheck": N_("科技处复核"),
    "final": N_("科技处终审"),
}
SIGNOFF_LABELS = {
    "integrator": N_("总集单位"),
    "supervisor": N_("监理单位"),
    "project_manager": N_("项目管理单位"),
    "cloud_provider": N_("云服务单位"),
}
KIND_LABELS = {
    "NetworkPolicy": N_("网络策略备案表"),
    "ResourceApplication": N_("云资源及安全服务申请单"),
    "ShutdownNotice": N_("云主机关停通知单"),
    "ProjectApplication": N_("项目云资源开通申请单"),
    "AnnualPlan": N_("年度计划"),
}
STATE_LABELS = {
    "active": N_("生效中"),
    "future": N_("未开始"),
    "past": N_("已过期"),
    "none": N_("无使用期"),
}
BASTION_PORTS = (("tcp", 22), ("tcp", 3389))


def explain(repo: model.Repository, now: datetime, fmt: str = "text") -> str:
    """What every form of ``repo`` grants at ``now``, as text, markdown or json."""
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "text": lambda d: _render(d, markdown=False),
        "markdown": lambda d: _render(d, markdown=True),
        "json": lambda d: json.dumps(d, ensure_ascii=False, indent=2),
    }
    if fmt not in renderers:
        raise ValueError(
            _("未知的输出格式 {fmt}；可用: {formats}").format(
                fmt=repr(fmt), formats=", ".join(FORMATS)
            )
        )
    return renderers[fmt](collect(repo, now))


# --------------------------------------------------------------------------- collecting


def _where(at: model.At) -> str:
    return f"{at.file}:{at.doc.locate(at.path).line}"


def _sig(sig: model.Signature | None) -> dict[str, Any] | None:
    if sig is None or not sig.signed:
        return None
    return {"by": sig.by, "date": sig.date.isoformat() if sig.date else None}


def _window(window: clock.Window | None, now: datetime) -> dict[str, Any]:
    """A window's dates, whether it is active at ``now``, and the days it has left."""
    if window is None:
        return {"start": None, "end": None, "state": "none", "days_left": None, "starts_in": None}
    today = clock.today(now)
    if window.contains(now):
        state = "active"
    elif window.is_future(now):
        state = "future"
    else:
        state = "past"
    return {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "days": window.days,
        "state": state,
        "days_left": (window.end - today).days + 1 if state == "active" else None,
        "starts_in": (window.start - today).days if state == "future" else None,
    }


def _address(addr: Any) -> dict[str, Any]:
    if addr is None:
        return {"text": None, "cidrs": [], "any": False, "placeholder": None}
    return {
        "text": addr.text,
        "cidrs": [] if addr.placeholder else addr.cidrs,
        "any": addr.any,
        "placeholder": addr.placeholder,
    }


def _bastion_only(row: model.Row) -> bool:
    """第十九条: SSH/RDP (or ``/``) to a host in an internal zone."""
    return (
        row.ports is not None
        and row.to_zone is not None
        and row.to_zone.internal
        and any(row.ports.opens(proto, port) for proto, port in BASTION_PORTS)
    )


def _from_bastion(row: model.Row, zones: model.Zones | None) -> bool:
    src = row.source
    if zones is None or src is None or src.any or src.placeholder or not src.ranges:
        return False
    bastions = zones.bastion_values
    return all(lo == hi and lo in bastions for lo, hi in src.ranges)


def _policy(
    repo: model.Repository,
    p: model.NetworkPolicy,
    now: datetime,
    bundled_by: dict[str, list[model.ProjectApplication]],
) -> dict[str, Any]:
    hrp = repo.high_risk_ports
    rows: list[dict[str, Any]] = []
    for row in p.rules:
        high = p.is_high_risk(row)
        matches: list[dict[str, str]] = []
        if high and hrp is not None and row.ports is not None:
            matches = [
                {"port": m.ports.text if m.ports else "", "name": m.name}
                for m in hrp.matches(row.ports)
            ]
        bastion = _bastion_only(row)
        rows.append(
            {
                "number": row.number,
                "from": row.from_zone.name if row.from_zone else row.from_ref,
                "to": row.to_zone.name if row.to_zone else row.to_ref,
                "source": _address(row.source) | {"text": row.source_text},
                "target": _address(row.target) | {"text": row.target_text},
                "ports": row.port_text,
                "note": row.note,
                "kind": "high_risk" if high else "normal",
                "high_risk_matches": matches,
                "any_port": bool(row.ports is not None and row.ports.any),
                "bastion_only": bastion,
                "from_bastion": bastion and _from_bastion(row, repo.zones),
                "window": _window(p.window_of(row), now),
                "errors": dict(row.errors),
            }
        )
    reviewers = {role: _sig(p.reviewers.get(role)) for role in model.REVIEWER_ROLES}
    has_high = bool(p.high_risk_rows)
    missing = [
        _(REVIEWER_LABELS[r])
        for r in (model.REVIEWER_ROLES if has_high else model.REVIEWER_ROLES[:1])
        if reviewers[r] is None
    ]
    return {
        "id": p.id,
        "system": p.system,
        "where": _where(p.at),
        "approved": not missing,
        "missing_signatures": missing,
        "pending_projects": _pending_projects(p.id, bundled_by),
        "reviewers": reviewers,
        "normal": _section(p.normal, now),
        "high_risk": _section(p.high_risk, now),
        "rows": rows,
        "counts": {
            "rows": len(rows),
            "high_risk": sum(1 for r in rows if r["kind"] == "high_risk"),
            "bastion_only": sum(1 for r in rows if r["bastion_only"]),
            "active": sum(1 for r in rows if r["window"]["state"] == "active"),
            "unparsed": sum(1 for r in rows if r["errors"]),
        },
    }


def _section(s: model.Section | None, now: datetime) -> dict[str, Any] | None:
    if s is None:
        return None
    out: dict[str, Any] = {"reason": s.reason, "window": _window(s.window, now)}
    if s.exception is not None:
        out["exception"] = _sig(s.exception) or {"by": None, "date": None}
        out["exception"]["reason"] = s.exception_reason
    return out


def _pending_projects(
    form_id: str, bundled_by: dict[str, list[model.ProjectApplication]]
) -> list[str]:
    return [pa.id for pa in bundled_by.get(form_id, []) if not pa.complete]


def _application(
    a: model.ResourceApplication, today: date, bundled_by: dict[str, list[model.ProjectApplication]]
) -> dict[str, Any]:
    approvals = {role: _sig(a.approvals.get(role)) for role in model.APPROVAL_ORDER}
    final = a.approvals.get("final")
    return {
        "id": a.id,
        "system": a.system,
        "department": a.department,
        "where": _where(a.at),
        "type": a.type,
        "year": a.year,
        "approved": a.approved,
        "decision": (final.fields.get("decision") if final is not None and final.signed else None),
        "missing_approvals": [
            _(APPROVAL_LABELS[r]) for r in model.APPROVAL_ORDER if approvals[r] is None
        ],
        "approvals": approvals,
        "expert_review": _sig(a.expert_review),
        "lapsed": a.year < today.year,
        "pending_projects": _pending_projects(a.id, bundled_by),
        "totals": a.totals(),
    }


def _plan(p: model.AnnualPlan, apps: list[model.ResourceApplication]) -> dict[str, Any]:
    used = {"vcpu": 0, "memory_gb": 0, "disk_gb": 0, "public_ip": 0}
    for a in apps:
        if a.approved and a.department == p.department and a.year == p.year:
            for k, n in a.totals().items():
                used[k] += n
    planned = {
        "vcpu": p.vcpu,
        "memory_gb": p.memory_gb,
        "disk_gb": p.disk_gb,
        "public_ip": p.public_ip,
    }
    return {
        "id": p.id,
        "department": p.department,
        "year": p.year,
        "where": _where(p.at),
        "planned": planned,
        "approved": used,
    }


def _shutdown(s: model.ShutdownNotice, now: datetime) -> dict[str, Any]:
    """The notice as the forms say it; the dates and stage are ``lifecycle``'s, the same
    enforce, upcoming and the exporter use (deletion from 00:00 of ``earliest_deletion``)."""
    today = clock.today(now)
    sd = s.shutdown_date
    earliest = lifecycle.earliest_deletion(s)
    if sd is None:
        state = "no_date"
    elif today < sd:
        state = "waiting"
    elif not s.data_copied:
        state = "blocked"
    else:
        state = "due"
    return {
        "id": s.id,
        "system": s.system,
        "where": _where(s.at),
        "hosts": "all" if s.all_hosts else [h for h, _note in s.hosts],
        "shutdown_date": sd.isoformat() if sd else None,
        "prepare_by": s.prepare_by.isoformat() if s.prepare_by else None,
        "data_copied": s.data_copied,
        "earliest_deletion": earliest.date().isoformat() if earliest else None,
        "kept_until": lifecycle.kept_until(clock.start_of(sd)).isoformat() if sd else None,
        "stage": lifecycle.status(s, now).stage,
        "days_to_shutdown": (sd - today).days if sd and today < sd else None,
        "state": state,
        "signatures": {
            "tech_division": _sig(s.tech_division),
            "business_division": _sig(s.business_division),
            "operator": _sig(s.operator),
        },
    }


def _project(repo: model.Repository, pa: model.ProjectApplication) -> dict[str, Any]:
    forms = []
    for form_id, _title in pa.forms:
        f = repo.form(form_id)
        forms.append(
            {
                "id": form_id,
                "kind": f.kind if f else None,
                "system": f.system if f else None,
                "exists": f is not None,
            }
        )
    signoffs = {role: _sig(pa.signoffs.get(role)) for role in model.PROJECT_SIGNOFFS}
    return {
        "id": pa.id,
        "project": pa.project,
        "where": _where(pa.at),
        "complete": pa.complete,
        "missing_signoffs": [
            _(SIGNOFF_LABELS[r]) for r in model.PROJECT_SIGNOFFS if signoffs[r] is None
        ],
        "signoffs": signoffs,
        "forms": forms,
        "accounts": [dict(a) for a in pa.accounts],
    }


def collect(repo: model.Repository, now: datetime) -> dict[str, Any]:
    """Everything ``explain`` shows, as plain JSON-ready data (documented in
    docs/output-formats.md)."""
    today = clock.today(now)
    bundled_by: dict[str, list[model.ProjectApplication]] = {}
    for pa in repo.projects:
        for form_id, _title in pa.forms:
            bundled_by.setdefault(form_id, []).append(pa)

    def order(f: model.Form) -> tuple[str, str]:
        return (f.system, f.id)

    return {
        "version": JSON_FORMAT_VERSION,
        "now": now.isoformat(),
        "today": today.isoformat(),
        "default_zones": repo.zones_is_default,
        "default_high_risk_ports": repo.high_risk_is_default,
        "network_policies": [
            _policy(repo, p, now, bundled_by) for p in sorted(repo.policies, key=order)
        ],
        "resource_applications": [
            _application(a, today, bundled_by) for a in sorted(repo.applications, key=order)
        ],
        "annual_plans": [
            _plan(p, repo.applications)
            for p in sorted(repo.plans, key=lambda p: (p.department, p.year, p.id))
        ],
        "shutdown_notices": [_shutdown(s, now) for s in sorted(repo.shutdowns, key=order)],
        "project_applications": [
            _project(repo, pa) for pa in sorted(repo.projects, key=lambda p: (p.project, p.id))
        ],
    }


# --------------------------------------------------------------------------- rendering


def _width(text: str) -> int:
    """Terminal columns: CJK and full-width characters take two."""
    return sum(2 if ord(ch) >= 0x1100 and not 0xFF61 <= ord(ch) <= 0xFFDC else 1 for ch in text)


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


class _Out:
    """Headings, key/value lines and tables, in markdown or in plain aligned text."""

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown
        self.lines: list[str] = []

    def heading(self, level: int, text: str) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")
        if self.markdown:
            self.lines.append("#" * level + " " + text)
        else:
            self.lines.append(text)
            self.lines.append(("=" if level <= 2 else "-") * _width(text))
        self.lines.append("")

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def item(self, text: str) -> None:
        self.lines.append(("- " if self.markdown else "  ") + text)

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        if not rows:
            return
        if self.lines and self.lines[-1] != "":
            self.lines.append("")
        if self.markdown:
            self.lines.append("| " + " | ".join(headers) + " |")
            self.lines.append("|" + "|".join("---" for _header in headers) + "|")
            self.lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
        else:
            widths = [max(_width(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

            def fmt(cells: list[str]) -> str:
                return "  ".join(
                    c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)
                ).rstrip()

            self.lines.append(fmt(headers))
            self.lines.append("  ".join("-" * w for w in widths))
            self.lines += [fmt(r) for r in rows]
        self.lines.append("")

    def text(self) -> str:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines)


def _capitalised(text: str) -> str:
    """A table header from a message that running text shares, so is translated
    lower-case ("source")."""
    return text[:1].upper() + text[1:]


def _code(out: _Out, text: str) -> str:
    return f"`{text}`" if out.markdown else text


def _listed(items: list[str]) -> str:
    """A list in running text: 、 in Chinese, a comma in English."""
    return _("、").join(items)


def _paren(text: str, note: str) -> str:
    return _("{text}（{note}）").format(text=text, note=note)


def _window_text(w: dict[str, Any]) -> str:
    if w["state"] == "none":
        return "—"
    return _("{start} 至 {end}").format(start=w["start"], end=w["end"])


def _state_text(w: dict[str, Any]) -> str:
    if w["state"] == "active":
        n = w["days_left"]
        return ngettext("生效中，剩 {n} 天", "生效中，剩 {n} 天", n).format(n=n)
    if w["state"] == "future":
        n = w["starts_in"]
        return ngettext("未开始，{n} 天后生效", "未开始，{n} 天后生效", n).format(n=n)
    return _(STATE_LABELS[w["state"]])


def _addr_text(a: dict[str, Any]) -> str:
    text = str(a["text"]).strip()
    if a["any"]:
        return _("{text}（不限制）").format(text=text)
    if a["placeholder"]:
        return _("{text}（占位符，下发时解析）").format(text=text)
    cidrs = a["cidrs"]
    if not cidrs:
        return text
    if cidrs in ([text], [text + "/32"]):
        return cidrs[0]
    return f"{text} → {', '.join(cidrs)}"


def _sig_text(s: dict[str, Any] | None) -> str:
    return _paren(s["by"], s["date"]) if s else _("未签")


def _row_kind(r: dict[str, Any]) -> str:
    parts = []
    if r["kind"] == "high_risk":
        if r["any_port"]:
            why = _("端口 / 与高危端口清单全部 {n} 项相交").format(n=len(r["high_risk_matches"]))
        else:
            why = _listed([f"{m['port']} {m['name']}" for m in r["high_risk_matches"]])
        parts.append(_("高危（{why}）").format(why=why))
    else:
        parts.append(_("普通"))
    if r["bastion_only"]:
        parts.append(_("仅限堡垒机") + ("" if r["from_bastion"] else _("（源不是堡垒机！）")))
    return _("；").join(parts)


# --------------------------------------------------------------------------- network policies


def _policy_status(p: dict[str, Any]) -> str:
    if p["approved"]:
        status = _("已审核")
    else:
        status = _("待审核（缺少 {who} 签字）").format(who=_listed(p["missing_signatures"]))
    if p["pending_projects"]:
        status += _("；所属项目 {projects} 会签未完成，暂不下发").format(
            projects=_listed(p["pending_projects"])
        )
    return status


def _section_text(label: str, s: dict[str, Any]) -> str:
    """One period line: its window and state, its reason, an overlong period's exception."""
    text = _("{label}：{window}（{state}）").format(
        label=label, window=_window_text(s["window"]), state=_state_text(s["window"])
    )
    if s["reason"]:
        text += _("，理由：{reason}").format(reason=s["reason"])
    exc = s.get("exception")
    if exc:
        text += _("；超期例外：{reason}，{signature}").format(
            reason=exc.get("reason", ""), signature=_sig_text(exc if exc.get("by") else None)
        )
    return text


def _counts_text(c: dict[str, int]) -> str:
    text = ngettext(
        "共 {rows} 行：高危 {high} 行，仅限堡垒机 {bastion} 行，当前生效 {active} 行",
        "共 {rows} 行：高危 {high} 行，仅限堡垒机 {bastion} 行，当前生效 {active} 行",
        c["rows"],
    ).format(rows=c["rows"], high=c["high_risk"], bastion=c["bastion_only"], active=c["active"])
    if c["unparsed"]:
        text += _("，无法解析 {n} 行").format(n=c["unparsed"])
    return text


def _policy_row(r: dict[str, Any]) -> list[str]:
    if r["errors"]:
        state = _("无法解析：{errors}").format(errors=_("；").join(r["errors"].values()))
    else:
        state = _state_text(r["window"])
    return [
        str(r["number"]),
        f"{r['from']} → {r['to']}",
        _addr_text(r["source"]),
        _addr_text(r["target"]),
        r["ports"],
        _row_kind(r),
        _window_text(r["window"]),
        state,
    ]


def _render_policy(out: _Out, p: dict[str, Any]) -> None:
    out.heading(
        3,
        _("{kind} {id}（{name}）").format(
            kind=_(KIND_LABELS["NetworkPolicy"]), id=p["id"], name=p["system"] or _("未写系统")
        ),
    )
    out.item(_("文件：{where}").format(where=_code(out, p["where"])))
    out.item(_("状态：{status}").format(status=_policy_status(p)))
    out.item(
        _("审核人：{reviewers}").format(
            reviewers=_("；").join(
                f"{_(REVIEWER_LABELS[r])} {_sig_text(s)}" for r, s in p["reviewers"].items()
            )
        )
    )
    for key, label in (("normal", N_("普通端口使用期")), ("high_risk", N_("高危端口使用期"))):
        s = p[key]
        if s is not None:
            out.item(_section_text(_(label), s))
        elif key == "normal" or p["counts"]["high_risk"]:
            out.item(_("{label}：未填写").format(label=_(label)))
    out.item(_counts_text(p["counts"]))
    headers = [_("行"), _("方向"), _capitalised(_("源地址")), _capitalised(_("目标地址"))]
    headers += [_("端口"), _("类型")]
    out.table([*headers, _("使用期"), _("当前")], [_policy_row(r) for r in p["rows"]])


def _render_policies(out: _Out, policies: list[dict[str, Any]]) -> None:
    out.heading(2, _("网络策略"))
    for p in policies:
        _render_policy(out, p)


# --------------------------------------------------------------------------- the other forms


def _application_status(a: dict[str, Any]) -> str:
    if a["approved"]:
        status = _paren(_("已批准"), a["decision"]) if a["decision"] else _("已批准")
    else:
        status = _("待批准（缺少 {who}）").format(who=_listed(a["missing_approvals"]))
    if a["pending_projects"]:
        status += _("；项目会签未完成")
    if a["lapsed"]:
        status += _("；{year}-12-31 后已失效").format(year=a["year"])
    if a["expert_review"]:
        status += _("；有专家评审")
    return status


def _render_applications(out: _Out, applications: list[dict[str, Any]]) -> None:
    out.heading(2, _("云资源申请"))
    rows = []
    for a in applications:
        t = a["totals"]
        rows.append(
            [
                a["id"],
                a["system"],
                a["department"],
                _("扩容") if a["type"] == "expand" else _("新增"),
                str(a["year"]),
                str(t["vcpu"]),
                str(t["memory_gb"]),
                str(t["disk_gb"]),
                str(t["public_ip"]),
                _application_status(a),
            ]
        )
    headers = [_("文档编号"), _("系统"), _("处室"), _("类型"), _("年度")]
    resources = ["vCPU", _("内存GB"), _("磁盘GB"), _("公网IP")]
    out.table([*headers, *resources, _("状态")], rows)


def _render_plans(out: _Out, plans: list[dict[str, Any]]) -> None:
    out.heading(2, _("年度计划使用情况（已批准 / 计划）"))
    rows = [
        [p["id"], p["department"], str(p["year"])]
        + [
            f"{p['approved'][k]} / {p['planned'][k]}"
            for k in ("vcpu", "memory_gb", "disk_gb", "public_ip")
        ]
        for p in plans
    ]
    headers = [_("计划"), _("处室"), _("年度"), "vCPU", _("内存GB"), _("磁盘GB"), _("公网IP")]
    out.table(headers, rows)


def _shutdown_state(s: dict[str, Any]) -> str:
    if s["state"] == "waiting":
        n = s["days_to_shutdown"]
        return ngettext("未到关停日期（还有 {n} 天）", "未到关停日期（还有 {n} 天）", n).format(n=n)
    return {
        "no_date": _("未填写关停日期"),
        "blocked": _("运维单位未确认数据已拷贝：不关机，已延误"),
        "due": _("已到关停日期：关机，关机满 7 天后删除并回收"),
    }[s["state"]]


def _shutdown_row(s: dict[str, Any]) -> list[str]:
    hosts = _("系统全部主机") if s["hosts"] == "all" else _listed(s["hosts"])
    deletion = (
        _("关机后满 7 天（保留至 {kept}，最早 {earliest} 00:00 起删除）").format(
            kept=s["kept_until"], earliest=s["earliest_deletion"]
        )
        if s["earliest_deletion"]
        else "—"
    )
    return [
        s["id"],
        s["system"],
        hosts,
        s["shutdown_date"] or "—",
        s["prepare_by"] or "—",
        _("是") if s["data_copied"] else _("否"),
        deletion,
        _shutdown_state(s),
    ]


def _render_shutdowns(out: _Out, notices: list[dict[str, Any]]) -> None:
    out.heading(2, _("云主机关停"))
    headers = [_("文档编号"), _("系统"), _("主机"), _("关停日期"), _("准备完成")]
    out.table(
        [*headers, _("数据已拷贝"), _("删除"), _("当前")], [_shutdown_row(s) for s in notices]
    )


def _render_project(out: _Out, pa: dict[str, Any]) -> None:
    kind = _(KIND_LABELS["ProjectApplication"])
    out.heading(3, _("{kind} {id}（{name}）").format(kind=kind, id=pa["id"], name=pa["project"]))
    out.item(_("文件：{where}").format(where=_code(out, pa["where"])))
    if pa["complete"]:
        out.item(_("会签：四方会签完成，所列表单可下发"))
    else:
        out.item(
            _("会签：未完成（缺少 {who}），所列表单暂不下发").format(
                who=_listed(pa["missing_signoffs"])
            )
        )
    out.item(
        _("；").join(f"{_(SIGNOFF_LABELS[r])} {_sig_text(s)}" for r, s in pa["signoffs"].items())
    )
    if pa["accounts"]:
        accounts = [_paren(a.get("name", ""), a.get("type", "")) for a in pa["accounts"]]
        out.item(_("账号：{accounts}").format(accounts=_listed(accounts)))
    out.table(
        [_("文档编号"), _("表单"), _("系统")],
        [
            [
                f["id"],
                _(KIND_LABELS.get(f["kind"], f["kind"])) if f["exists"] else _("仓库中不存在！"),
                f["system"] or "",
            ]
            for f in pa["forms"]
        ],
    )


def _render_projects(out: _Out, projects: list[dict[str, Any]]) -> None:
    out.heading(2, _("信息化建设项目"))
    for pa in projects:
        _render_project(out, pa)


# --------------------------------------------------------------------------- the document


def _render_summary(out: _Out, d: dict[str, Any]) -> None:
    out.heading(1, _("表单授予的权限（cgcloud explain）"))
    out.item(_("时间：{now}（Asia/Shanghai，今天 {today}）").format(now=d["now"], today=d["today"]))
    defaults = [
        _(name)
        for name, key in (
            (N_("区域模型"), "default_zones"),
            (N_("高危端口清单"), "default_high_risk_ports"),
        )
        if d[key]
    ]
    if defaults:
        out.item(_("使用随附的默认{names}").format(names=_listed(defaults)))
    out.item(
        _(
            "网络策略 {policies} 张，资源申请 {applications} 张，年度计划 {plans} 份，"
            "关停通知 {shutdowns} 张，项目申请 {projects} 张"
        ).format(
            policies=len(d["network_policies"]),
            applications=len(d["resource_applications"]),
            plans=len(d["annual_plans"]),
            shutdowns=len(d["shutdown_notices"]),
            projects=len(d["project_applications"]),
        )
    )


_SECTIONS: tuple[tuple[str, Callable[[_Out, list[dict[str, Any]]], None]], ...] = (
    ("network_policies", _render_policies),
    ("resource_applications", _render_applications),
    ("annual_plans", _render_plans),
    ("shutdown_notices", _render_shutdowns),
    ("project_applications", _render_projects),
)


def _render(d: dict[str, Any], markdown: bool) -> str:
    """The summary, then one section per kind of form that the repository has."""
    out = _Out(markdown)
    _render_summary(out, d)
    for key, render in _SECTIONS:
        if d[key]:
            render(out, d[key])
    return out.text()
