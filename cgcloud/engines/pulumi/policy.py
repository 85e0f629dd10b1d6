"""cgcloud's network rules as a CrossGuard policy pack, for any Pulumi OpenStack program.

Why rows: the rules live in `cgcloud.rules`, written against NetworkPolicy rows. A
`SecGroupRule` here is turned into the row it would be in a 网络策略备案表 (source
and its zone from the rule's remote prefix, the ports in the form's grammar, the
stack's hosts as the target in `targetZone`) and the rows are checked by
`cgcloud validate`'s own pipeline on a scratch repository holding the site's Zones
and HighRiskPorts — so the pack and `cgcloud validate` cannot disagree (tested), and
no rule is copied. Each cgcloud rule ID below is one policy: mandatory where cgcloud
reports an error, advisory for a warning.

Decidable from one rule: CG305 (high-risk source too wide), CG310 (SSH/RDP only
from a bastion), the address grammar and zone pools (CG104–CG107), and — when the
pack's config names the zone the stack's hosts live in (`targetZone`) — the zone
flows matrix (CG102, CG103). `cgcloud-approved-row` checks what no single row can:
that the rule is granted by an approved, open row of the forms (`policies`, at
`now`); mandatory for high-risk ports, advisory otherwise.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import netaddr

from cgcloud import clock, desired, grammar, model, rules
from cgcloud.findings import Finding, Severity
from cgcloud.i18n import _
from cgcloud.validate import load_repository

RULE_TYPE = "openstack:networking/secGroupRule:SecGroupRule"
# the row rules a single security-group rule can be judged by (CG102/103 need targetZone)
ROW_RULES = ("CG102", "CG103", "CG104", "CG105", "CG106", "CG107", "CG108", "CG305", "CG310")
FLOW_RULES = ("CG102", "CG103")
SYSTEM = "pulumi"
TARGET = f"{SYSTEM}-目标"
FORM_ID = "PULUMI-POLICY-0001"
# Where a finding names the scratch form's row, in either language ("PULUMI-POLICY-0001
# 第3行", "PULUMI-POLICY-0001 row 3", "row 3 of PULUMI-POLICY-0001"): replaced by "this rule"
ROW_PREFIX = re.compile(
    r"(?:(?:row|line) \d+ (?:of|in) (?:form )?)?"
    + re.escape(FORM_ID)
    + r"(?: 第\d+行|,? (?:row|line) \d+| \((?:row|line) \d+\))?"
)


@dataclass(frozen=True, slots=True)
class RuleArgs:
    """The inputs of a `SecGroupRule` the checks read (Pulumi's camelCase props)."""

    direction: str
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    ethertype: str = "IPv4"
    description: str = ""

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> RuleArgs:
        return cls(
            direction=str(props.get("direction") or ""),
            protocol=props.get("protocol") or None,
            port_range_min=props.get("portRangeMin"),
            port_range_max=props.get("portRangeMax"),
            remote_ip_prefix=props.get("remoteIpPrefix") or None,
            ethertype=str(props.get("ethertype") or "IPv4"),
            description=str(props.get("description") or ""),
        )


@dataclass(frozen=True, slots=True)
class Config:
    """The pack's configuration (`pulumi preview --policy-pack-config`)."""

    policies: str = "policies"
    target_zone: str | None = None
    now: str | None = None

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None) -> Config:
        c = config or {}
        return cls(
            policies=str(c.get("policies") or "policies"),
            target_zone=c.get("targetZone") or None,
            now=c.get("now") or None,
        )

    def when(self) -> datetime:
        return clock.now_local(self.now)


# --------------------------------------------------------------------------- rows


def port_cell(args: RuleArgs) -> str | None:
    """The rule's ports in the form's grammar (None: a protocol the forms cannot name)."""
    proto = (args.protocol or "").lower()
    if not proto or proto == "any":
        return "/"
    if proto == "icmp":
        return "ICMP"
    if proto not in ("tcp", "udp"):
        return None
    lo = args.port_range_min or 1
    hi = args.port_range_max or (lo if args.port_range_min else 65535)
    return f"{proto.upper()}{lo}" if lo == hi else f"{proto.upper()}{lo}-{hi}"


def source_cell(prefix: str | None) -> str:
    net = netaddr.IPNetwork(prefix or "0.0.0.0/0")
    if net.prefixlen == 0:
        return "0.0.0.0"
    return str(net.ip) if net.prefixlen == 32 else str(net.cidr)


def zone_of(prefix: str | None, zones: model.Zones) -> model.Zone:
    """The zone whose pools hold the whole prefix; otherwise the zone without pools
    (互联网公网), where cgcloud's own rules then judge whether the address is public."""
    net = netaddr.IPNetwork(prefix or "0.0.0.0/0")
    for z in zones.zones:
        if net.prefixlen and any(net in netaddr.IPNetwork(c) for c in z.cidrs):
            return z
    open_zone = next((z for z in zones.zones if not z.internal and not z.cidrs), None)
    return open_zone or zones.zones[0]


@lru_cache(maxsize=8)
def _cached_site(policies: str) -> tuple[model.Repository, tuple[Path, ...]]:
    """The repository's Zones and HighRiskPorts (shipped defaults when it has none), and
    the files they came from, to copy into each scratch repository."""
    repo, _findings, _files = load_repository([policies])
    files = tuple(
        Path(f.at.file)
        for f in (repo.zones, repo.high_risk_ports)
        if f is not None and Path(f.at.file).is_file()
    )
    return repo, files


def row_verdicts(rules_args: list[RuleArgs], config: Config) -> list[list[Finding]]:
    """For each rule, the findings `cgcloud validate` gives the row it would be.

    Egress rules and rules of protocols the forms cannot name get no row (empty
    list): the forms describe ingress to the cloud's hosts."""
    site, files = _cached_site(config.policies)
    assert site.zones is not None, "load_repository supplies the default Zones"
    target_zone = (site.zones.zone(config.target_zone) if config.target_zone else None) or next(
        z for z in site.zones.zones if z.internal
    )
    today = clock.today(config.when())
    rows: list[tuple[int, str]] = []  # (index, YAML row)
    for i, a in enumerate(rules_args):
        port = port_cell(a)
        if a.direction != "ingress" or a.ethertype != "IPv4" or port is None:
            continue
        src_zone = zone_of(a.remote_ip_prefix, site.zones)
        rows.append(
            (
                i,
                f"    - {{from: {src_zone.name}, source: {source_cell(a.remote_ip_prefix)}, "
                f"to: {target_zone.name}, target: {TARGET}, port: {port}, note: 规则{i}}}\n",
            )
        )
    out: list[list[Finding]] = [[] for _ in rules_args]
    if not rows:
        return out
    with tempfile.TemporaryDirectory(prefix="cgcloud-pack-") as tmp:
        for site_file in files:
            shutil.copy(site_file, Path(tmp) / f"site-{site_file.name}")
        form = Path(tmp) / "pulumi-rules.yaml"
        head = _form_head(today)
        form.write_text(head + "".join(r for _, r in rows), encoding="utf-8")
        first_line = head.count("\n") + 1
        repo, findings, _files = load_repository([tmp])
        findings += rules.run(rules.Context(repo=repo, now=config.when()))
    wanted = set(ROW_RULES) - (set() if config.target_zone else set(FLOW_RULES))
    for f in findings:
        if f.file != str(form) or f.rule not in wanted:
            continue
        k = f.line - first_line
        if 0 <= k < len(rows):
            # the scratch form's id and row number mean nothing to the stack's author
            f.message = ROW_PREFIX.sub(_("此规则"), f.message, count=1)
            out[rows[k][0]].append(f)
    return out


def _form_head(today: Any) -> str:
    signed = clock.add_days(today, -1).isoformat()
    day = today.isoformat()
    return (
        "apiVersion: cgcloud/v1\nkind: NetworkPolicy\n"
        f"metadata: {{id: {FORM_ID}, system: {SYSTEM}}}\n"
        "spec:\n"
        '  applicant: {org: pulumi, name: pulumi, phone: "13900000000"}\n'
        f"  normal: {{reason: pulumi, period: {{start: {day}, end: {day}}}}}\n"
        f"  high_risk: {{reason: pulumi, period: {{start: {day}, end: {day}}}}}\n"
        "  reviewers:\n"
        f"    cloud_resource_manager: {{by: 甲, date: {signed}}}\n"
        f"    business_leader: {{by: 乙, date: {signed}}}\n"
        f"    cloud_resource_leader: {{by: 丙, date: {signed}}}\n"
        "  rules:\n"
    )


# --------------------------------------------------------------------------- approval


def is_high_risk(args: RuleArgs, high_risk: model.HighRiskPorts | None) -> bool:
    port = port_cell(args)
    if high_risk is None or port is None:
        return False
    try:
        return bool(high_risk.matches(grammar.parse_ports(port)))
    except grammar.GrammarError:
        return False


def approved(args: RuleArgs, state: desired.DesiredState) -> bool:
    """Is this rule one the approved, open rows of the forms grant now?"""
    for r in state.rules:
        if (r.direction, r.ethertype, r.protocol, r.port_min, r.port_max, r.description) != (
            args.direction,
            args.ethertype,
            args.protocol,
            args.port_range_min,
            args.port_range_max,
            args.description,
        ):
            continue
        if r.remote_placeholder or (r.remote_cidr or "0.0.0.0/0") == (
            args.remote_ip_prefix or "0.0.0.0/0"
        ):
            return True
    return False


@lru_cache(maxsize=8)
def _compiled(policies: str, now: str | None) -> desired.DesiredState:
    repo, _findings, _files = load_repository([policies])
    return desired.compile(repo, clock.now_local(now))


# --------------------------------------------------------------------------- the pack

Report = Callable[[str, str | None], None]


@lru_cache(maxsize=4096)
def one_row(args: RuleArgs, config: Config, minute: datetime) -> tuple[Finding, ...]:
    """One rule's verdicts, shared by the nine row policies CrossGuard calls one by one
    for each resource: one scratch validation per rule instead of nine (benchmarks/
    README.md "pulumi pack"). ``minute``: the verdict's time, so a cached one never
    outlives the minute it was made in (windows end at 23:59:59)."""
    return tuple(row_verdicts([args], config)[0])


def _minute(config: Config) -> datetime:
    return config.when().replace(second=0, microsecond=0)


def policies() -> list[Any]:
    """The pack's policies (pulumi_policy imported here: only the pack needs it)."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyConfigSchema,
        ResourceValidationArgs,
        ResourceValidationPolicy,
    )

    schema = PolicyConfigSchema(
        properties={
            "policies": {"type": "string", "description": "the policy repository"},
            "targetZone": {"type": "string", "description": "zone of the stack's hosts"},
            "now": {"type": "string", "description": "ISO time (default: the clock)"},
        }
    )

    def row_policy(rule: rules.Rule) -> Any:
        def validate(args: ResourceValidationArgs, report: Report) -> None:
            if args.resource_type != RULE_TYPE:
                return
            config = Config.from_mapping(args.get_config())
            for f in one_row(RuleArgs.from_props(args.props), config, _minute(config)):
                if f.rule == rule.id:
                    hint = _(" 建议: {hint}").format(hint=f.hint) if f.hint else ""
                    report(f"{f.rule} {f.message}{hint}", None)

        level = (
            EnforcementLevel.MANDATORY
            if rule.severity == Severity.ERROR
            else EnforcementLevel.ADVISORY
        )
        return ResourceValidationPolicy(
            name=f"cgcloud-{rule.id.lower()}-{rule.name}",
            description=_("{id} {summary}（{article}）").format(
                id=rule.id, summary=_(rule.summary), article=_(rule.article)
            ),
            validate=validate,
            enforcement_level=level,
            config_schema=schema,
        )

    def approval_policy(high: bool) -> Any:
        def validate(args: ResourceValidationArgs, report: Report) -> None:
            if args.resource_type != RULE_TYPE:
                return
            config = Config.from_mapping(args.get_config())
            a = RuleArgs.from_props(args.props)
            site, _site_files = _cached_site(config.policies)
            if is_high_risk(a, site.high_risk_ports) != high:
                return
            if not approved(a, _compiled(config.policies, config.now)):
                report(approval_message(a, high), None)

        return ResourceValidationPolicy(
            name="cgcloud-approved-high-risk" if high else "cgcloud-approved-row",
            description=(
                _("高危端口规则须有已批准且在使用期内的网络策略行（第十三条）")
                if high
                else _("安全组规则应有已批准且在使用期内的网络策略行（附件2）")
            ),
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY if high else EnforcementLevel.ADVISORY,
            config_schema=schema,
        )

    return [row_policy(rules.REGISTRY[i]) for i in ROW_RULES] + [
        approval_policy(True),
        approval_policy(False),
    ]


def approval_message(args: RuleArgs, high: bool) -> str:
    text = (
        _("{direction} {port} 源 {source}: 没有已批准且在使用期内的网络策略行开放此高危端口")
        if high
        else _("{direction} {port} 源 {source}: 没有已批准且在使用期内的网络策略行开放此端口")
    )
    return text.format(
        direction=args.direction,
        port=port_cell(args),
        source=args.remote_ip_prefix or "0.0.0.0/0",
    ) + _("（规则的 description 应为 cgcloud 写入的 “cgcloud 表单#行 until 日期”）")
