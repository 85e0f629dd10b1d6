"""A reach answer as plain data (the ``json`` format, ``cgcloud-reach/v1``), and as
text or markdown in the user's language rendered from that same data."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cgcloud import grammar
from cgcloud.i18n import N_, _
from cgcloud.reach.compare import Difference, Gap, Verdict
from cgcloud.reach.exposure import PUBLIC_SYSTEM, REMOTE_ADMIN, SystemExposure
from cgcloud.reach.facts import ACTIVE, CLOSED, LATER, STATUS_LABELS, UNAPPROVED, Grant, grant_dict
from cgcloud.reach.index import Index

FORMATS = ("text", "markdown", "json")
FORMAT_VERSION = "cgcloud-reach/v1"
ROLE_LABELS = {  # marked here, translated where shown
    "cloud_resource_manager": N_("审核人1"),
    "business_leader": N_("审核人2"),
    "cloud_resource_leader": N_("审核人3"),
}


def answer(
    index: Index,
    at: datetime,
    query: dict[str, Any],
    grants: list[Grant] | None = None,
    diff: Difference | None = None,
    exposed: list[SystemExposure] | None = None,
) -> dict[str, Any]:
    """Everything a reach command found, as JSON-ready data."""
    out: dict[str, Any] = {"format": FORMAT_VERSION, "query": {**query, "at": at.isoformat()}}
    if grants is not None:
        rows: dict[str, list[dict[str, Any]]] = {ACTIVE: [], LATER: [], CLOSED: [], UNAPPROVED: []}
        for g in grants:
            d = grant_dict(g, at)
            rows[d["status"]].append(d)
        out["rows"] = rows
    if diff is not None:
        out["cloud"] = {
            "unauthorised": len(diff.unauthorised),
            "rules": [_verdict(v) for v in diff.verdicts],
            "gaps": [_gap(g, at) for g in diff.gaps],
        }
    if exposed is not None:
        out["exposed"] = [_exposure(se, at) for se in exposed]
    out["skipped"] = {
        "unparsed_rows": [{"form": f, "row": r, "where": w} for f, r, w in index.facts.unparsed],
        "load_errors": index.facts.load_errors,
    }
    return out


def _verdict(v: Verdict) -> dict[str, Any]:
    f = v.fact
    return {
        "host": grammar.int_to_ip(f.host.ip),
        "port_id": f.host.port_id,
        "system": f.host.system,
        "group": f.group_name,
        "group_id": f.group_id,
        "managed": f.managed,
        "rule_id": f.rule_id,
        "ports": f.ports_text,
        "remote": f.remote_text,
        "ipv6": f.ipv6,
        "written_for": f"{f.form}#{f.row}" if f.form else None,
        "authorised": v.authorised,
        "rows": [f"{g.form}#{g.row}" for g in v.rows],
        "uncovered": v.uncovered,
        "remote_admin": _remote_admin(v),
    }


def _remote_admin(v: Verdict) -> list[str]:
    """SSH / RDP when the cloud rule opens TCP 22 / 3389."""
    f = v.fact
    return [
        name
        for proto, port, name in REMOTE_ADMIN
        if f.protocol is None
        or (f.protocol == proto and (f.port_min or 1) <= port <= (f.port_max or 65535))
    ]


def _gap(g: Gap, at: datetime) -> dict[str, Any]:
    return {"state": g.state, "host": g.host, "detail": g.detail, "row": grant_dict(g.grant, at)}


def _exposure(se: SystemExposure, at: datetime) -> dict[str, Any]:
    return {
        "system": se.system,
        "rows": {z: [grant_dict(g, at) for g in rows] for z, rows in sorted(se.rows.items())},
        "public_ips": {"needed": se.public_ips_needed, "approved": se.public_ips_approved},
        "remote_admin": [
            {"service": name, "form": g.form, "row": g.row} for g, name in se.remote_admin
        ],
        "cloud": [_verdict(v) for v in se.cloud],
    }


def render(data: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    return _Text(markdown=fmt == "markdown").render(data)


class _Text:
    def __init__(self, markdown: bool) -> None:
        self.md = markdown
        self.lines: list[str] = []

    def head(self, text: str, level: int = 2) -> None:
        if self.md:
            self.lines += ["", "#" * level + " " + text, ""]
        else:
            self.lines += ["", text]

    def item(self, text: str, indent: int = 1) -> None:
        pad = "  " * (indent - 1)
        self.lines.append(f"{pad}- {text}" if self.md else f"{'  ' * indent}{text}")

    def render(self, data: dict[str, Any]) -> str:
        q = data["query"]
        title = _("可达性查询 {what}（时间 {at}）").format(what=_describe(q), at=q["at"])
        if self.md:
            self.lines.append("# " + title)
        else:
            self.lines.append(title)
        if "rows" in data:
            self.rows(data["rows"])
        if "cloud" in data:
            self.cloud(data["cloud"])
        if "exposed" in data:
            self.exposed(data["exposed"])
        sk = data["skipped"]
        if sk["unparsed_rows"] or sk["load_errors"]:
            self.head(_("未计入"))
            if sk["load_errors"]:
                self.item(
                    _("{n} 个文件/表单问题使相关表单未读入（运行 cgcloud validate 查看）").format(
                        n=sk["load_errors"]
                    )
                )
            for u in sk["unparsed_rows"]:
                self.item(
                    _("{form} 第{row}行 无法解析（{where}）").format(
                        form=u["form"], row=u["row"], where=u["where"]
                    )
                )
        return "\n".join(self.lines).strip() + "\n"

    def row(self, r: dict[str, Any], indent: int = 1) -> None:
        w = r["window"]
        window = (
            _("{start} 至 {end}").format(start=w["start"], end=w["end"]) if w else _("无使用期")
        )
        who = _("、").join(
            f"{_(ROLE_LABELS[k]) if k in ROLE_LABELS else k} {v}" for k, v in r["reviewers"].items()
        )
        who = who or _("无")
        risk = _("高危") if r["high_risk"] else _("普通")
        text = _(
            "{form} 第{row}行 {src_zone} {source} → {dst_zone} {target} {ports}；"
            "{risk}，使用期 {window}；签字 {who}（{where}）"
        ).format(
            form=r["form"],
            row=r["row"],
            src_zone=r["from_name"],
            source=r["source"],
            dst_zone=r["to_name"],
            target=r["target"],
            ports=r["ports"],
            risk=risk,
            window=window,
            who=who,
            where=f"{r['file']}:{r['line']}",
        )
        if r["why_not"]:
            text += _("；未批准: {why}").format(why=r["why_not"])
        self.item(text, indent)

    def rows(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        for status in (ACTIVE, LATER, CLOSED, UNAPPROVED):
            items = rows[status]
            self.head(_("{label}的行（{n}）").format(label=_(STATUS_LABELS[status]), n=len(items)))
            if not items:
                self.item(_("无"))
            for r in items:
                self.row(r)

    def verdict(self, v: dict[str, Any], indent: int = 1) -> None:
        owner = _("cgcloud 管理") if v["managed"] else _("非 cgcloud 管理")
        text = _("{host} 端口 {ports} 来源 {remote}：安全组 {group}（{owner}）").format(
            host=v["host"], ports=v["ports"], remote=v["remote"], group=v["group"], owner=owner
        )
        if v["authorised"]:
            text += _(" — 已批准（{rows}）").format(rows=_("、").join(v["rows"]) or "-")
        else:
            text += _(" — 未经批准: {what}").format(what=_("；").join(v["uncovered"]))
        if v["remote_admin"]:
            text += _("（{services} 暴露）").format(services="/".join(v["remote_admin"]))
        self.item(text, indent)

    def cloud(self, c: dict[str, Any]) -> None:
        bad = [v for v in c["rules"] if not v["authorised"]]
        good = [v for v in c["rules"] if v["authorised"]]
        self.head(_("云中放行但没有已批准的行（未经批准的暴露，{n}）").format(n=len(bad)))
        if not bad:
            self.item(_("无"))
        for v in bad:
            self.verdict(v)
        pending = [g for g in c["gaps"] if g["state"] == "pending"]
        missing = [g for g in c["gaps"] if g["state"] == "missing"]
        self.head(_("已批准但云中未放行（{n}）").format(n=len(missing)))
        if not missing:
            self.item(_("无"))
        for g in missing:
            self.item(
                _("{form} 第{row}行 → {host}: {detail}").format(
                    form=g["row"]["form"], row=g["row"]["row"], host=g["host"], detail=g["detail"]
                )
            )
        self.head(_("已批准、待开通（{n}）").format(n=len(pending)))
        if not pending:
            self.item(_("无"))
        for g in pending:
            self.item(
                _("{form} 第{row}行 → {host}: {detail}").format(
                    form=g["row"]["form"], row=g["row"]["row"], host=g["host"], detail=g["detail"]
                )
            )
        self.head(_("云中放行且已批准（{n}）").format(n=len(good)))
        if not good:
            self.item(_("无"))
        for v in good:
            self.verdict(v)

    def exposed(self, systems: list[dict[str, Any]]) -> None:
        if not systems:
            self.head(_("没有从外部网络可达的主机"))
        for s in systems:
            self.head(_(s["system"]) if s["system"] == PUBLIC_SYSTEM else s["system"])
            ips = s["public_ips"]
            approved = ips["approved"] if ips["approved"] is not None else _("无已批准申请单")
            flag = ""
            if ips["approved"] is None or ips["needed"] > ips["approved"]:
                flag = _("（超出）") if ips["needed"] else ""
            self.item(
                _("公网 IP：需要 {needed} 个，已批准 {approved}{flag}（附件2 注4）").format(
                    needed=ips["needed"], approved=approved, flag=flag
                )
            )
            for zone, rows in s["rows"].items():
                name = rows[0]["from_name"] if rows else zone
                self.item(_("来自 {zone} 的生效行（{n}）").format(zone=name, n=len(rows)))
                for r in rows:
                    self.row(r, indent=2)
            for ra in s["remote_admin"]:
                self.item(
                    _("{service} 暴露: {form} 第{row}行").format(
                        service=ra["service"], form=ra["form"], row=ra["row"]
                    )
                )
            for v in s["cloud"]:
                self.verdict(v)


def _describe(q: dict[str, Any]) -> str:
    parts = []
    if q.get("exposed"):
        parts.append(_("外部网络可达"))
    if q.get("from"):
        parts.append(_("从 {src}").format(src=q["from"]))
    if q.get("to"):
        parts.append(_("到 {dst}").format(dst=q["to"]))
    if q.get("cloud"):
        parts.append(_("对照云 {cloud}").format(cloud=q["cloud"]))
    return " ".join(parts) or _("全部")
