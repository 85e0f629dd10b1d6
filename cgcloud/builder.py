"""Building the typed forms (``cgcloud.model``) from loaded documents.

Apart from the types so that a reader of the model sees what a form *is* in one
short module, and the code that turns schema-valid documents into it (with a
finding for what the schemas cannot say) in this one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from cgcloud import capping, clock, grammar
from cgcloud.findings import Finding, Severity
from cgcloud.i18n import N_, _
from cgcloud.loader import Document, Unloaded
from cgcloud.model import (
    API_VERSION,
    APPROVAL_ORDER,
    PROJECT_SIGNOFFS,
    REVIEWER_ROLES,
    AnnualPlan,
    At,
    Bastion,
    HighRiskPort,
    HighRiskPorts,
    NetworkPolicy,
    Person,
    ProjectApplication,
    Repository,
    Resource,
    ResourceApplication,
    Roster,
    Row,
    Section,
    ShutdownNotice,
    Signature,
    Zone,
    Zones,
)
from cgcloud.schemas import KINDS, check


class _Builder:
    def __init__(self) -> None:
        self.repo = Repository()
        self.findings: list[Finding] = []
        # findings per (file, rule); past the cap only the first is located (a flow mapping
        # of 300,000 unknown keys costs one position, not 300,000: see capping.py)
        self.counts: dict[tuple[str, str], int] = {}
        self.omitted: dict[tuple[str, str], tuple[Finding, int]] = {}

    def finding(self, rule: str, at: At, message: str, hint: str = "", key: bool = False) -> None:
        slot = (at.file, rule)
        n = self.counts[slot] = self.counts.get(slot, 0) + 1
        if n > capping.MAX_PER_RULE:
            first = self.omitted.get(slot)
            if first is None:
                pos = at.doc.locate(at.path, key=key)
                f = Finding(rule, Severity.ERROR, message, at.file, pos.line, pos.column, hint)
                self.omitted[slot] = (f, 1)
            else:
                self.omitted[slot] = (first[0], first[1] + 1)
            return
        pos = at.doc.locate(at.path, key=key)
        self.findings.append(
            Finding(rule, Severity.ERROR, message, at.file, pos.line, pos.column, hint)
        )

    def _unloaded(self, doc: Document, kind: Any) -> None:
        kinds = frozenset([kind]) if isinstance(kind, str) and kind in KINDS else None
        self.repo.unloaded.append(Unloaded(doc.file, kinds, doc.source.text))

    def flush_omitted(self) -> None:
        for first, n in self.omitted.values():
            self.findings.append(capping.summary(first, n))
        self.omitted.clear()

    def date(self, value: Any, at: At) -> date | None:
        if value is None:
            return None
        try:
            return clock.parse_date(str(value))
        except clock.ClockError as exc:
            self.finding("CG013", at, str(exc))
            return None

    def signature(self, role: str, value: Any, at: At) -> Signature:
        sig = Signature(role=role, at=at)
        if isinstance(value, dict) and value.get("by"):
            sig.by = str(value["by"])
            sig.date = self.date(value.get("date"), at / "date")
            sig.fields = {k: v for k, v in value.items() if k not in ("by", "date")}
            if sig.date is None:
                sig.by = None
        return sig

    def window(self, period: Any, at: At) -> clock.Window | None:
        if not isinstance(period, dict):
            return None
        start = self.date(period.get("start"), at / "start")
        end = self.date(period.get("end"), at / "end")
        if start is None or end is None:
            return None
        if end < start:
            self.finding(
                "CG014",
                at / "end",
                _("使用期终止日期 {end} 早于起始日期 {start}").format(end=end, start=start),
                _("请检查起止日期是否写反"),
            )
            return None
        return clock.Window(start, end)

    # -- per kind ----------------------------------------------------------------------

    def add(self, doc: Document) -> None:
        data = doc.data
        root = At(doc)
        if not isinstance(data, dict):
            self._unloaded(doc, None)
            self.finding(
                "CG010",
                root,
                _("文档不是一个表单（应为以 apiVersion 和 kind 开头的映射）"),
                _("每个文档应以 apiVersion: cgcloud/v1 和 kind: <表单类型> 开头"),
            )
            return
        if data.get("apiVersion") != API_VERSION:
            self._unloaded(doc, data.get("kind"))
            self.finding(
                "CG010",
                root / "apiVersion",
                _("apiVersion 应为 {want}，实际为 {got}").format(
                    want=API_VERSION, got=repr(data.get("apiVersion"))
                ),
                _("请写 apiVersion: {want}").format(want=API_VERSION),
                key="apiVersion" not in data,
            )
            return
        kind = data.get("kind")
        if kind not in KINDS:
            self._unloaded(doc, None)
            self.finding(
                "CG010",
                root / "kind",
                _("未知的表单类型 kind: {kind}").format(kind=repr(kind)),
                _("可用的类型: {kinds}").format(kinds=_("、").join(KINDS)),
                key="kind" not in data,
            )
            return
        problems = check(kind, data)
        if problems:
            self._unloaded(doc, kind)
            for p in problems:
                self.finding(p.rule, At(doc, p.path), p.message, _(_SCHEMA_HINT), key=p.key)
            return
        getattr(self, "add_" + _snake(kind))(root, data)

    def add_zones(self, at: At, d: dict[str, Any]) -> None:
        zones = []
        for i, z in enumerate(d.get("zones", [])):
            ranges: list[tuple[int, int]] = []
            for j, c in enumerate(z.get("cidrs", [])):
                try:
                    ranges.append(grammar.parse_cidr(c))
                except grammar.GrammarError as exc:
                    self.finding("CG107", at / "zones" / i / "cidrs" / j, str(exc))
            zones.append(
                Zone(
                    id=z["id"],
                    name=z.get("name", z["id"]),
                    internal=bool(z.get("internal", False)),
                    cidrs=list(z.get("cidrs", [])),
                    ranges=grammar.merge_ranges(ranges),
                    at=at / "zones" / i,
                )
            )
        bastions = []
        for i, b in enumerate(d.get("bastions", [])):
            try:
                value = grammar.ip_to_int(b["address"])
            except grammar.GrammarError as exc:
                self.finding("CG107", at / "bastions" / i / "address", str(exc))
                continue
            bastions.append(Bastion(b["zone"], b["address"], value, at / "bastions" / i))

        def pairs(key: str) -> list[tuple[str, str, At]]:
            return [(p[0], p[1], at / key / i) for i, p in enumerate(d.get(key, []))]

        zones_obj = Zones(at, zones, pairs("flows"), pairs("default_egress"), bastions)
        if self.repo.zones is not None:
            self.finding(
                "CG021",
                at,
                _("仓库中有多个 Zones 文件"),
                _("整个仓库只能有一个 Zones（站点模型）"),
            )
            return
        self.repo.zones = zones_obj

    def add_high_risk_ports(self, at: At, d: dict[str, Any]) -> None:
        ports = []
        for i, p in enumerate(d.get("ports", [])):
            try:
                parsed: grammar.Ports | None = grammar.parse_ports(p["port"])
            except grammar.GrammarError as exc:
                self.finding("CG108", at / "ports" / i / "port", str(exc))
                parsed = None
            ports.append(HighRiskPort(parsed, p.get("name", ""), at / "ports" / i))
        if self.repo.high_risk_ports is not None:
            self.finding(
                "CG021",
                at,
                _("仓库中有多个 HighRiskPorts 文件"),
                _("整个仓库只能有一个高危端口清单"),
            )
            return
        self.repo.high_risk_ports = HighRiskPorts(at, int(d.get("max_source_prefix", 24)), ports)

    def add_roster(self, at: At, d: dict[str, Any]) -> None:
        people = [
            Person(
                name=p["name"],
                roles=list(p.get("roles", [])),
                start=self.date(p.get("from"), at / "people" / i / "from"),
                end=self.date(p.get("to"), at / "people" / i / "to"),
                at=at / "people" / i,
            )
            for i, p in enumerate(d.get("people", []))
        ]
        if self.repo.roster is not None:
            self.repo.roster.people.extend(people)
        else:
            self.repo.roster = Roster(at, people)

    def _form(self, cls: type[Any], at: At, d: dict[str, Any], **kw: Any) -> Any:
        meta = d.get("metadata", {})
        return cls(kind=d["kind"], id=str(meta.get("id", "")), at=at, metadata=meta, **kw)

    def add_annual_plan(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        self.repo.plans.append(
            self._form(
                AnnualPlan,
                at,
                d,
                department=d["metadata"].get("department", ""),
                year=int(s["year"]),
                vcpu=int(s.get("vcpu", 0)),
                memory_gb=int(s.get("memory_gb", 0)),
                disk_gb=int(s.get("disk_gb", 0)),
                public_ip=int(s.get("public_ip", 0)),
            )
        )

    def add_resource_application(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        spec = at / "spec"
        approvals = {
            role: self.signature(
                role, (s.get("approvals") or {}).get(role), spec / "approvals" / role
            )
            for role in APPROVAL_ORDER
        }
        expert = s.get("expert_review")
        self.repo.applications.append(
            self._form(
                ResourceApplication,
                at,
                d,
                type=s.get("type", "new"),
                year=int(s["year"]),
                department=d["metadata"].get("department", ""),
                resources=[
                    Resource(r["type"], r, spec / "resources" / i)
                    for i, r in enumerate(s.get("resources", []))
                ],
                approvals=approvals,
                operators=[
                    str(o.get("name", "")) for o in s.get("operators", []) if isinstance(o, dict)
                ],
                expert_review=(
                    self.signature("expert_review", expert, spec / "expert_review")
                    if expert is not None
                    else None
                ),
            )
        )

    def add_network_policy(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        spec = at / "spec"
        normal = high = None
        if isinstance(s.get("normal"), dict):
            n = s["normal"]
            normal = Section(
                spec / "normal",
                n.get("reason", ""),
                self.window(n.get("period"), spec / "normal" / "period"),
                period_given=isinstance(n.get("period"), dict),
            )
        if isinstance(s.get("high_risk"), dict):
            h = s["high_risk"]
            hat = spec / "high_risk"
            high = Section(
                hat,
                h.get("reason", ""),
                self.window(h.get("period"), hat / "period"),
                period_given=isinstance(h.get("period"), dict),
            )
            exc = h.get("exception")
            if isinstance(exc, dict):
                high.exception = self.signature("exception", exc, hat / "exception")
                high.exception_reason = str(exc.get("reason", ""))
        reviewers = {
            role: self.signature(
                role, (s.get("reviewers") or {}).get(role), spec / "reviewers" / role
            )
            for role in REVIEWER_ROLES
        }
        policy = self._form(
            NetworkPolicy,
            at,
            d,
            applicant=s.get("applicant", {}),
            normal=normal,
            high_risk=high,
            reviewers=reviewers,
        )
        rules_at = spec / "rules"
        policy.rules = [
            Row(
                index=i,
                at=rules_at / i,
                from_ref=str(r["from"]),
                source_text=str(r["source"]),
                to_ref=str(r["to"]),
                target_text=str(r["target"]),
                port_text=str(r["port"]),
                note=str(r.get("note", "")),
            )
            for i, r in enumerate(s.get("rules", []))
        ]
        self.repo.policies.append(policy)

    def add_shutdown_notice(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        spec = at / "spec"
        business = s.get("business_division") or {}
        operator = s.get("operator") or {}
        self.repo.shutdowns.append(
            self._form(
                ShutdownNotice,
                at,
                d,
                hosts=[(str(h), spec / "hosts" / i) for i, h in enumerate(s.get("hosts", []))],
                all_hosts=bool(s.get("all", False)),
                tech_division=self.signature(
                    "tech_division", s.get("tech_division"), spec / "tech_division"
                ),
                business_division=self.signature(
                    "business_division", business, spec / "business_division"
                ),
                operator=self.signature("operator", operator, spec / "operator"),
                shutdown_date=self.date(
                    business.get("shutdown_date"), spec / "business_division" / "shutdown_date"
                ),
                prepare_by=self.date(
                    business.get("prepare_by"), spec / "business_division" / "prepare_by"
                ),
                data_copied=bool(operator.get("data_copied", False)),
                commands=dict(s.get("commands") or {}),
            )
        )

    def add_project_application(self, at: At, d: dict[str, Any]) -> None:
        s = d["spec"]
        spec = at / "spec"
        self.repo.projects.append(
            self._form(
                ProjectApplication,
                at,
                d,
                forms=[(str(f), spec / "forms" / i) for i, f in enumerate(s.get("forms", []))],
                accounts=list(s.get("accounts", [])),
                signoffs={
                    role: self.signature(
                        role, (s.get("signoffs") or {}).get(role), spec / "signoffs" / role
                    )
                    for role in PROJECT_SIGNOFFS
                },
            )
        )


_SCHEMA_HINT = N_("对照 schemas/ 中该表单的 JSON Schema（cgcloud schema <KIND>）修改")


def _snake(kind: str) -> str:
    out = ""
    for ch in kind:
        out += ("_" + ch.lower()) if ch.isupper() and out else ch.lower()
    return out


def build(
    documents: list[Document], failed: Iterable[Unloaded] = ()
) -> tuple[Repository, list[Finding]]:
    """Turn loaded documents into the typed repository; schema problems become findings.
    ``failed``: what the loader could not load (kept for ``Repository.might_hold``)."""
    b = _Builder()
    b.repo.unloaded.extend(failed)
    for doc in documents:
        b.add(doc)
    b.flush_omitted()
    return b.repo, b.findings
