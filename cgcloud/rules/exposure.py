"""External exposure (附件2 注4, semantics rule 6): public IPs needed vs. approved.

Each distinct internal host that is the target of a row whose source zone is
互联网公网 (the zone with ``is_public``) needs one public IP; per system, the
count of such hosts must not exceed the ``public_ip`` approved in the system's
approved ResourceApplications (``final`` signed) of the year in force.

Which year is in force (decision, see docs/rules-decisions.md): every year from
the current one (``ctx.today.year``) on for which the system has approved
forms is checked separately, counting the rows whose window reaches into that
year (the first checked year also counts rows from today on that start before
it; the last also counts rows that run past it). When the system has no approved form for this year or later, its
latest approved year is used (the lapse itself is CG505's finding). With no
approved form at all, the allowance is 0.

Rows whose window is wholly in the past are not active and do not count; rows
through ``default_egress`` are outbound and do not count; exposure to
政务外网骨干网/专线网络 is not checked. A placeholder is one host; a CIDR or range
target counts each address, but counting stops as soon as the allowance is
passed (so a /8 costs at most ``allowance + 1`` steps, never 16 million).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from cgcloud.findings import Finding
from cgcloud.grammar import int_to_ip
from cgcloud.i18n import N_, _
from cgcloud.model import NetworkPolicy, ResourceApplication, Row
from cgcloud.rules.base import ERROR, Context, Rule


def _public_ips(app: ResourceApplication) -> int:
    return app.totals()["public_ip"]


def _years_in_force(apps: list[ResourceApplication], today: date) -> list[tuple[int, int]]:
    """(year, approved public_ip) pairs to check for one system."""
    by_year: dict[int, int] = defaultdict(int)
    for app in apps:
        if app.approved:
            by_year[app.year] += _public_ips(app)
    current = sorted(y for y in by_year if y >= today.year)
    if current:
        return [(y, by_year[y]) for y in current]
    if by_year:
        last = max(by_year)
        return [(last, by_year[last])]
    return []


def _exposed_rows(ctx: Context, policies: list[NetworkPolicy]) -> list[tuple[NetworkPolicy, Row]]:
    zones = ctx.repo.zones
    out = []
    for policy in policies:
        for row in policy.rules:
            if not row.parsed or row.from_zone is None or row.to_zone is None:
                continue
            if not (row.from_zone.is_public and row.to_zone.internal):
                continue
            if zones is not None and zones.is_default_egress(row.from_zone, row.to_zone):
                continue
            window = policy.window_of(row)
            if window is not None and window.is_past(ctx.now):
                continue
            out.append((policy, row))
    return out


def _in_year(policy: NetworkPolicy, row: Row, first: date, last: date) -> bool:
    window = policy.window_of(row)
    if window is None:
        return True
    return window.start <= last and first <= window.end


def _over(row: Row, hosts: set[object], allowance: int) -> bool:
    """Add the row's target hosts to ``hosts``; True once there are more than ``allowance``."""
    target = row.target
    assert target is not None and row.to_zone is not None
    if target.placeholder:
        hosts.add(target.placeholder)
        return len(hosts) > allowance
    ranges = row.to_zone.ranges if target.any else target.ranges
    for lo, hi in ranges:
        for value in range(lo, hi + 1):
            hosts.add(value)
            if len(hosts) > allowance:
                return True
    return False


def check_public_ip_count(ctx: Context) -> Iterator[Finding]:
    apps: dict[str, list[ResourceApplication]] = defaultdict(list)
    for app in ctx.repo.applications:
        apps[app.system].append(app)
    policies: dict[str, list[NetworkPolicy]] = defaultdict(list)
    for policy in ctx.repo.policies:
        policies[policy.system].append(policy)

    for system, system_policies in policies.items():
        rows = _exposed_rows(ctx, system_policies)
        if not rows or ctx.repo.might_hold("ResourceApplication", system):
            continue  # the allowance is unknown while an application failed to load
        years = _years_in_force(apps.get(system, []), ctx.today)
        if not years:
            years = [(0, 0)]
        for n, (year, allowance) in enumerate(years):
            first = ctx.today if n == 0 else date(year, 1, 1)
            last = date.max if n == len(years) - 1 else date(year, 12, 31)
            hosts: set[object] = set()
            for policy, row in rows:
                if not _in_year(policy, row, first, last):
                    continue
                if _over(row, hosts, allowance):
                    yield _finding(system, year, allowance, policy, row, hosts)
                    break


def _finding(
    system: str, year: int, allowance: int, policy: NetworkPolicy, row: Row, hosts: set[object]
) -> Finding:
    named = sorted((int_to_ip(h) if isinstance(h, int) else str(h) for h in hosts), key=str)[
        : allowance + 1
    ]
    approved = (
        _("{year} 年度已批准的申请单合计公网 IP {allowance} 个").format(
            year=year, allowance=allowance
        )
        if year
        else _("没有已批准（终审已签字）的云资源申请单，公网 IP 为 0 个")
    )
    return PUBLIC_IP_COUNT.at(
        row.at,
        _(
            "系统“{system}”对互联网公网开放的内部主机超过批准的公网 IP 数：{approved}，到表单 {policy_id} "
            "第{row_number}行（目标 {row_target_text}）已有至少 {n} 台（{named}）"
        ).format(
            system=system,
            approved=approved,
            policy_id=policy.id,
            row_number=row.number,
            row_target_text=row.target_text,
            n=len(hosts),
            named=_("、").join(named),
        ),
        _(
            "减少来自互联网公网的目标主机（同一主机的多条规则只计一次），或在该系统的云资源申请单中增加 public_ip 数量并完成终审"
        ),
        form=policy,
    )


PUBLIC_IP_COUNT = Rule(
    "CG320",
    "public-ip-count",
    ERROR,
    N_("附件2 注4"),
    N_("对互联网公网开放的内部主机数超过该系统已批准的公网 IP 数"),
    check_public_ip_count,
)

RULES = [PUBLIC_IP_COUNT]
