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

from cgcloud import clock, model

FORMATS = ("text", "markdown", "json")
JSON_FORMAT_VERSION = 1
SHUTDOWN_KEEP_DAYS = 7  # 附件3: powered off, kept 7 days, then deleted

REVIEWER_LABELS = {
    "cloud_resource_manager": "审核人1 云资源管理人",
    "business_leader": "审核人2 对口业务分管负责人",
    "cloud_resource_leader": "审核人3 云资源分管负责人",
}
APPROVAL_LABELS = {
    "department": "申请处室审核",
    "initial": "科技处初审",
    "recheck": "科技处复核",
    "final": "科技处终审",
}
SIGNOFF_LABELS = {
    "integrator": "总集单位",
    "supervisor": "监理单位",
    "project_manager": "项目管理单位",
    "cloud_provider": "云服务单位",
}
KIND_LABELS = {
    "NetworkPolicy": "网络策略备案表",
    "ResourceApplication": "云资源及安全服务申请单",
    "ShutdownNotice": "云主机关停通知单",
    "ProjectApplication": "项目云资源开通申请单",
    "AnnualPlan": "年度计划",
}
STATE_LABELS = {"active": "生效中", "future": "未开始", "past": "已过期", "none": "无使用期"}
BASTION_PORTS = (("tcp", 22), ("tcp", 3389))


def explain(repo: model.Repository, now: datetime, fmt: str = "text") -> str:
    """What every form of ``repo`` grants at ``now``, as text, markdown or json."""
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "text": lambda d: _render(d, markdown=False),
        "markdown": lambda d: _render(d, markdown=True),
        "json": lambda d: json.dumps(d, ensure_ascii=False, indent=2),
    }
    if fmt not in renderers:
        raise ValueError(f"未知的输出格式 {fmt!r}；可用: {', '.join(FORMATS)}")
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
        REVIEWER_LABELS[r]
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
            APPROVAL_LABELS[r] for r in model.APPROVAL_ORDER if approvals[r] is None
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


def _shutdown(s: model.ShutdownNotice, today: date) -> dict[str, Any]:
    sd = s.shutdown_date
    earliest_delete = clock.add_days(sd, SHUTDOWN_KEEP_DAYS) if sd else None
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
        "hosts": "all" if s.all_hosts else [h for h, _ in s.hosts],
        "shutdown_date": sd.isoformat() if sd else None,
        "prepare_by": s.prepare_by.isoformat() if s.prepare_by else None,
        "data_copied": s.data_copied,
        "earliest_deletion": earliest_delete.isoformat() if earliest_delete else None,
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
    for form_id, _ in pa.forms:
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
            SIGNOFF_LABELS[r] for r in model.PROJECT_SIGNOFFS if signoffs[r] is None
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
        for form_id, _ in pa.forms:
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
        "shutdown_notices": [_shutdown(s, today) for s in sorted(repo.shutdowns, key=order)],
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
            self.lines.append("|" + "|".join("---" for _ in headers) + "|")
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


def _code(out: _Out, text: str) -> str:
    return f"`{text}`" if out.markdown else text


def _window_text(w: dict[str, Any]) -> str:
    if w["state"] == "none":
        return "—"
    return f"{w['start']} 至 {w['end']}"


def _state_text(w: dict[str, Any]) -> str:
    if w["state"] == "active":
        return f"生效中，剩 {w['days_left']} 天"
    if w["state"] == "future":
        return f"未开始，{w['starts_in']} 天后生效"
    return STATE_LABELS[w["state"]]


def _addr_text(a: dict[str, Any]) -> str:
    text = str(a["text"]).strip()
    if a["any"]:
        return f"{text}（不限制）"
    if a["placeholder"]:
        return f"{text}（占位符，下发时解析）"
    cidrs = a["cidrs"]
    if not cidrs:
        return text
    if cidrs in ([text], [text + "/32"]):
        return cidrs[0]
    return f"{text} → {', '.join(cidrs)}"


def _sig_text(s: dict[str, Any] | None) -> str:
    return f"{s['by']}（{s['date']}）" if s else "未签"


def _row_kind(r: dict[str, Any]) -> str:
    parts = []
    if r["kind"] == "high_risk":
        if r["any_port"]:
            why = f"端口 / 与高危端口清单全部 {len(r['high_risk_matches'])} 项相交"
        else:
            why = "、".join(f"{m['port']} {m['name']}" for m in r["high_risk_matches"])
        parts.append(f"高危（{why}）")
    else:
        parts.append("普通")
    if r["bastion_only"]:
        parts.append("仅限堡垒机" + ("" if r["from_bastion"] else "（源不是堡垒机！）"))
    return "；".join(parts)


def _render_policy(out: _Out, p: dict[str, Any]) -> None:
    title = f"{KIND_LABELS['NetworkPolicy']} {p['id']}（{p['system'] or '未写系统'}）"
    out.heading(3, title)
    status = (
        "已审核"
        if p["approved"]
        else "待审核（缺少 " + "、".join(p["missing_signatures"]) + " 签字）"
    )
    if p["pending_projects"]:
        status += "；所属项目 " + "、".join(p["pending_projects"]) + " 会签未完成，暂不下发"
    out.item(f"文件：{_code(out, p['where'])}")
    out.item(f"状态：{status}")
    out.item(
        "审核人："
        + "；".join(f"{REVIEWER_LABELS[r]} {_sig_text(s)}" for r, s in p["reviewers"].items())
    )
    for key, label in (("normal", "普通端口使用期"), ("high_risk", "高危端口使用期")):
        s = p[key]
        if s is None:
            if key == "normal" or p["counts"]["high_risk"]:
                out.item(f"{label}：未填写")
            continue
        text = f"{label}：{_window_text(s['window'])}（{_state_text(s['window'])}）"
        if s["reason"]:
            text += f"，理由：{s['reason']}"
        exc = s.get("exception")
        if exc:
            text += (
                f"；超期例外：{exc.get('reason', '')}，{_sig_text(exc if exc.get('by') else None)}"
            )
        out.item(text)
    c = p["counts"]
    out.item(
        f"共 {c['rows']} 行：高危 {c['high_risk']} 行，仅限堡垒机 {c['bastion_only']} 行，"
        f"当前生效 {c['active']} 行" + (f"，无法解析 {c['unparsed']} 行" if c["unparsed"] else "")
    )
    rows = []
    for r in p["rows"]:
        if r["errors"]:
            state = "无法解析：" + "；".join(r["errors"].values())
        else:
            state = _state_text(r["window"])
        rows.append(
            [
                str(r["number"]),
                f"{r['from']} → {r['to']}",
                _addr_text(r["source"]),
                _addr_text(r["target"]),
                r["ports"],
                _row_kind(r),
                _window_text(r["window"]),
                state,
            ]
        )
    out.table(["行", "方向", "源地址", "目标地址", "端口", "类型", "使用期", "当前"], rows)


def _render(d: dict[str, Any], markdown: bool) -> str:
    out = _Out(markdown)
    out.heading(1, "表单授予的权限（cgcloud explain）")
    out.item(f"时间：{d['now']}（Asia/Shanghai，今天 {d['today']}）")
    defaults = [
        n
        for n, k in (("区域模型", "default_zones"), ("高危端口清单", "default_high_risk_ports"))
        if d[k]
    ]
    if defaults:
        out.item("使用随附的默认" + "、".join(defaults))
    out.item(
        f"网络策略 {len(d['network_policies'])} 张，资源申请 {len(d['resource_applications'])} 张，"
        f"年度计划 {len(d['annual_plans'])} 份，关停通知 {len(d['shutdown_notices'])} 张，"
        f"项目申请 {len(d['project_applications'])} 张"
    )

    if d["network_policies"]:
        out.heading(2, "网络策略")
        for p in d["network_policies"]:
            _render_policy(out, p)

    if d["resource_applications"]:
        out.heading(2, "云资源申请")
        rows = []
        for a in d["resource_applications"]:
            t = a["totals"]
            if a["approved"]:
                status = "已批准" + (f"（{a['decision']}）" if a["decision"] else "")
            else:
                status = "待批准（缺少 " + "、".join(a["missing_approvals"]) + "）"
            if a["pending_projects"]:
                status += "；项目会签未完成"
            if a["lapsed"]:
                status += f"；{a['year']}-12-31 后已失效"
            if a["expert_review"]:
                status += "；有专家评审"
            rows.append(
                [
                    a["id"],
                    a["system"],
                    a["department"],
                    "扩容" if a["type"] == "expand" else "新增",
                    str(a["year"]),
                    str(t["vcpu"]),
                    str(t["memory_gb"]),
                    str(t["disk_gb"]),
                    str(t["public_ip"]),
                    status,
                ]
            )
        out.table(
            [
                "文档编号",
                "系统",
                "处室",
                "类型",
                "年度",
                "vCPU",
                "内存GB",
                "磁盘GB",
                "公网IP",
                "状态",
            ],
            rows,
        )

    if d["annual_plans"]:
        out.heading(2, "年度计划使用情况（已批准 / 计划）")
        rows = [
            [p["id"], p["department"], str(p["year"])]
            + [
                f"{p['approved'][k]} / {p['planned'][k]}"
                for k in ("vcpu", "memory_gb", "disk_gb", "public_ip")
            ]
            for p in d["annual_plans"]
        ]
        out.table(["计划", "处室", "年度", "vCPU", "内存GB", "磁盘GB", "公网IP"], rows)

    if d["shutdown_notices"]:
        out.heading(2, "云主机关停")
        rows = []
        for s in d["shutdown_notices"]:
            state = {
                "no_date": "未填写关停日期",
                "waiting": f"未到关停日期（还有 {s['days_to_shutdown']} 天）",
                "blocked": "运维单位未确认数据已拷贝：不关机，已延误",
                "due": "已到关停日期：关机，关机满 7 天后删除并回收",
            }[s["state"]]
            hosts = "系统全部主机" if s["hosts"] == "all" else "、".join(s["hosts"])
            rows.append(
                [
                    s["id"],
                    s["system"],
                    hosts,
                    s["shutdown_date"] or "—",
                    s["prepare_by"] or "—",
                    "是" if s["data_copied"] else "否",
                    f"关机后满 7 天（最早 {s['earliest_deletion']}）"
                    if s["earliest_deletion"]
                    else "—",
                    state,
                ]
            )
        out.table(
            ["文档编号", "系统", "主机", "关停日期", "准备完成", "数据已拷贝", "删除", "当前"], rows
        )

    if d["project_applications"]:
        out.heading(2, "信息化建设项目")
        for pa in d["project_applications"]:
            out.heading(3, f"{KIND_LABELS['ProjectApplication']} {pa['id']}（{pa['project']}）")
            out.item(f"文件：{_code(out, pa['where'])}")
            if pa["complete"]:
                out.item("会签：四方会签完成，所列表单可下发")
            else:
                out.item(
                    "会签：未完成（缺少 "
                    + "、".join(pa["missing_signoffs"])
                    + "），所列表单暂不下发"
                )
            out.item(
                "；".join(f"{SIGNOFF_LABELS[r]} {_sig_text(s)}" for r, s in pa["signoffs"].items())
            )
            if pa["accounts"]:
                out.item(
                    "账号："
                    + "、".join(
                        f"{a.get('name', '')}（{a.get('type', '')}）" for a in pa["accounts"]
                    )
                )
            out.table(
                ["文档编号", "表单", "系统"],
                [
                    [
                        f["id"],
                        KIND_LABELS.get(f["kind"], f["kind"]) if f["exists"] else "仓库中不存在！",
                        f["system"] or "",
                    ]
                    for f in pa["forms"]
                ],
            )
    return out.text()
