"""`cgcloud exporter`: Prometheus metrics of compliance and usage, from a cached snapshot.

Why a snapshot: a scrape must never crawl OpenStack (openstack-exporter's scrape
time-outs, its issues #214/#132, are what we avoid). A background thread
refreshes on a schedule — reload and validate the policies, compile the desired
state, read the cloud with a fixed number of list calls, diff — and builds the
metric families once. They are rendered to the exposition format once per
refresh (50,000 rule series take ~0.5 s to render, far too slow per scrape), so
a scrape only copies bytes.

Time is injected like everywhere else (only ``clock.py`` knows time): ``--now``
freezes the exporter's clock, ``--now-file`` is read at every refresh (a testing
aid that lets a long-running exporter step through days). Every time-dependent
value is computed against that clock, and the clock itself is exported
(``cgcloud_exporter_clock_timestamp_seconds``) so alerts compare against the
same "now" the snapshot used, not Prometheus' wall clock.

Metric names and labels are documented in docs/metrics.md. This module computes
the metrics (pure, from plain data); ``cgcloud.exporter.server`` refreshes and serves.
"""

from __future__ import annotations

import gzip
import ipaddress
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from cgcloud import __version__, clock, enforce, lifecycle
from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.actual import Server
from cgcloud.exporter import usage

if TYPE_CHECKING:
    from cgcloud.engines.base import Engine, ServerPower, VolumeUse

TENANT = ["tenant", "tenant_id", "system"]  # openstack-exporter's labels, plus ours
GIB = 1024**3
MIB = 1024**2
SERVICES = {"ssh": [("tcp", 22)], "rdp": [("tcp", 3389), ("udp", 3389)]}
DECOMMISSION_STAGES = lifecycle.STAGES


# --------------------------------------------------------------------------- cloud view


@dataclass(slots=True)
class CloudView:
    """What one refresh read: the reconciler's ActualState plus what metrics need beyond it
    (every ingress rule, servers, volumes, floating IPs) — a fixed number of list calls."""

    actual: p.ActualState
    ingress: list[p.ARule] = field(default_factory=list)  # of every group, managed or not
    servers: list[Server] = field(default_factory=list)
    volume_gb: dict[str, int] = field(default_factory=dict)  # project id → GB in volumes
    floating_ips: dict[str, int] = field(default_factory=dict)  # project id → count
    requests: int = 0
    volume_gb_by_tier: dict[str, dict[str, int]] = field(default_factory=dict)  # pid → tier → GB
    power: list[ServerPower] = field(default_factory=list)  # every server's power state
    volumes: list[VolumeUse] = field(default_factory=list)  # every volume's tier, attachment


def read_cloud(engine: Engine, state: d.DesiredState | None) -> CloudView:
    """One refresh's reads through the engine: its read (every group's rules come with
    it), the servers and the usage lists — a fixed number of list calls, never per rule."""
    start = engine.requests
    actual = engine.read(state)
    view = CloudView(actual)
    view.ingress = [r for r in (*actual.rules, *actual.foreign_rules) if r.direction == "ingress"]
    usage = engine.read_usage(actual)
    view.floating_ips, view.volume_gb = usage.floating_ips, usage.volume_gb
    view.volume_gb_by_tier, view.power, view.volumes = (
        usage.volume_gb_by_tier,
        usage.servers,
        usage.volumes,
    )
    if "compute" in actual.services:
        view.servers = engine.list_servers()
    view.requests = engine.requests - start
    return view


# --------------------------------------------------------------------------- metrics (pure)


@dataclass(slots=True)
class Inputs:
    """Everything one snapshot is computed from; plain data, so tests can build it by hand."""

    now: datetime
    repo: Any | None = None  # model.Repository
    findings: list[Any] = field(default_factory=list)
    state: d.DesiredState | None = None
    view: CloudView | None = None
    plan: p.Plan | None = None


def _tenants(inp: Inputs) -> dict[str, tuple[str, str, str]]:
    """system → (tenant, tenant_id, system) for every managed project and every desired one."""
    out: dict[str, tuple[str, str, str]] = {}
    if inp.state:
        for proj in inp.state.projects:
            out[proj.system] = (proj.name, "", proj.system)
    if inp.view:
        for ap in inp.view.actual.projects:
            system = p._tag_value(ap.tags, d.SYSTEM_TAG)
            if p.is_managed(ap.tags) and system is not None:
                out[system] = (ap.name, ap.id, system)
    return out


def _ports_text(protocol: str | None, lo: int | None, hi: int | None) -> str:
    return p._ports_text(None if protocol in (None, "", "any") else str(protocol).lower(), lo, hi)


def _covers(rule: p.ARule, proto: str, port: int) -> bool:
    """Does a rule open ``proto``/``port``? No protocol = everything."""
    rp = None if rule.protocol in (None, "", "any") else str(rule.protocol).lower()
    if rp is not None and rp != proto and rp != {"tcp": "6", "udp": "17"}[proto]:
        return False
    lo, hi = rule.port_min, rule.port_max
    if lo is None:
        return True
    return int(lo) <= port <= int(hi if hi is not None else lo)


def _high_risk_ports(repo: Any) -> list[tuple[str, int, int]]:
    if repo is None or repo.high_risk_ports is None:
        return []
    out: list[tuple[str, int, int]] = []
    for hp in repo.high_risk_ports.ports:
        if hp.ports is not None:
            out.extend((e.protocol, e.low, e.high) for e in hp.ports.entries)
    return out


def _rule_high_risk(
    ar: p.ARule,
    reason: d.Reason,
    rows: dict[tuple[str, int], bool],
    hr_ports: list[tuple[str, int, int]],
) -> bool:
    """The form's own classification when the row is still in the repository; else the
    live rule's ports against the HighRiskPorts list."""
    known = rows.get((reason.form, reason.row))
    if known is not None:
        return known
    proto = None if ar.protocol in (None, "", "any") else str(ar.protocol).lower()
    for hp_proto, lo, hi in hr_ports:
        if proto is not None and proto != hp_proto:
            continue
        if ar.port_min is None or (ar.port_min <= hi and lo <= (ar.port_max or ar.port_min)):
            return True
    return False


def compute(inp: Inputs) -> list[Metric]:
    """Every compliance/usage family of one snapshot (the exporter's status lives apart)."""
    now_ts = inp.now.timestamp()
    tenants = _tenants(inp)
    fams: list[Metric] = []

    def gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
        g = GaugeMetricFamily(name, doc, labels=labels)
        fams.append(g)
        return g

    fams.append(_build_info())
    clk = gauge(
        "cgcloud_exporter_clock_timestamp_seconds",
        "The time this snapshot was computed for (injected with --now/--now-file, "
        "else the wall clock); compare windows against this, not time().",
        [],
    )
    clk.add_metric([], now_ts)

    # ---- validation findings: every registered rule, 0 included
    from cgcloud.rules import REGISTRY

    counts = Counter((f.rule, str(f.severity)) for f in inp.findings)
    vf = gauge(
        "cgcloud_validation_findings",
        "Findings of `cgcloud validate` on the watched repository, by rule ID and severity.",
        ["rule", "severity"],
    )
    for rid, rule in sorted(REGISTRY.items()):
        sev = str(rule.severity)
        vf.add_metric([rid, sev], counts.pop((rid, sev), 0))
    for (rid, sev), n in sorted(counts.items()):
        vf.add_metric([rid, sev], n)

    # ---- approvals
    year_end = clock.start_of_day_after(clock.today(inp.now).replace(month=12, day=31))
    lapsed = gauge(
        "cgcloud_approval_lapsed",
        "1 when a managed project has no approved "
        "ResourceApplication for the current year (续期或关停); never deleted for it.",
        TENANT,
    )
    expiry = gauge(
        "cgcloud_approval_expiry_timestamp_seconds",
        "When this year's approval of "
        "the system's resources lapses (00:00 local after 31 December).",
        TENANT,
    )
    wanted = {pr.system for pr in inp.state.projects} if inp.state else set()
    if inp.repo is not None and inp.view is not None:
        # enforce decides (a later year's approval or a decommissioned project is not lapsed)
        gone = {a.system for a in enforce.lapsed(inp.repo, inp.view.actual.projects, inp.now)}
    else:
        gone = {s for s, t in tenants.items() if t[1] and s not in wanted}
    for system, labels in sorted(tenants.items()):
        if labels[1]:
            lapsed.add_metric(list(labels), 1 if system in gone else 0)
        if system in wanted:
            expiry.add_metric(list(labels), year_end.timestamp())

    _quota_families(inp, tenants, gauge)
    usage.families(inp, tenants, gauge)  # disk per tier, servers' power, volumes (第十八条)
    if inp.view is not None:
        _rule_families(inp, tenants, gauge, now_ts)
        _exposure_families(inp, gauge)
        _decommission_families(inp, tenants, gauge)
    if inp.plan is not None:
        _plan_families(inp, tenants, gauge)
    return fams


def _build_info() -> GaugeMetricFamily:
    g = GaugeMetricFamily(
        "cgcloud_build_info", "cgcloud's version (value 1).", labels=["version", "python"]
    )
    g.add_metric([__version__, sys.version.split()[0]], 1)
    return g


Gauge = Callable[[str, str, list[str]], GaugeMetricFamily]


def _quota_families(inp: Inputs, tenants: dict[str, tuple[str, str, str]], gauge: Gauge) -> None:
    if inp.state is None:
        return
    used: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    if inp.view is not None:
        for s in inp.view.servers:
            u = used[s.project_id]
            u["vcpus"] += s.vcpus
            u["ram_bytes"] += s.ram_mb * MIB
            u["disk_bytes"] += s.disk_gb * GIB
        for pid, gb in inp.view.volume_gb.items():
            used[pid]["disk_bytes"] += gb * GIB
        for pid, n in inp.view.floating_ips.items():
            used[pid]["public_ips"] += n
    names = {
        "vcpus": "vCPUs",
        "ram_bytes": "memory in bytes",
        "disk_bytes": "disk in bytes (system disks of servers + volumes)",
        "public_ips": "public (floating) IPs",
    }
    approved_f = {
        k: gauge(
            f"cgcloud_approved_{k}",
            f"Approved {v} for the current year (sum of approved new + expand forms).",
            TENANT,
        )
        for k, v in names.items()
    }
    used_f = {
        k: gauge(f"cgcloud_used_{k}", f"{v[0].upper() + v[1:]} in use in the project.", TENANT)
        for k, v in names.items()
    }
    ratio = gauge(
        "cgcloud_quota_utilization_ratio",
        "Used / approved (1 = all of it; above 1 = more than approved).",
        [*TENANT, "resource"],
    )
    for proj in inp.state.projects:
        labels = list(tenants.get(proj.system, (proj.name, "", proj.system)))
        q = proj.quotas
        approved = {
            "vcpus": q.cores,
            "ram_bytes": q.ram_mb * MIB,
            "disk_bytes": q.gigabytes * GIB,
            "public_ips": q.floating_ips,
        }
        u = used.get(labels[1], {}) if labels[1] else {}
        for k in names:
            approved_f[k].add_metric(labels, approved[k])
            if inp.view is not None:
                used_f[k].add_metric(labels, u.get(k, 0.0))
                if approved[k]:
                    ratio.add_metric([*labels, k], u.get(k, 0.0) / approved[k])
                elif u.get(k):
                    ratio.add_metric([*labels, k], float("inf"))


def _rule_families(
    inp: Inputs, tenants: dict[str, tuple[str, str, str]], gauge: Gauge, now_ts: float
) -> None:
    assert inp.view is not None
    actual = inp.view.actual
    rows: dict[tuple[str, int], bool] = {}
    if inp.repo is not None:
        for pol in inp.repo.policies:
            for row in pol.rules:
                rows[(pol.id, row.number)] = pol.is_high_risk(row)
    hr_ports = _high_risk_ports(inp.repo)
    by_pid = {t[1]: t for t in tenants.values() if t[1]}
    group_tenant: dict[str, tuple[str, str, str]] = {}
    managed = managed_groups(actual)
    for g in actual.groups:
        if g.id in managed:
            group_tenant[g.id] = by_pid.get(g.project_id) or ("", g.project_id, managed[g.id])
    ends = gauge(
        "cgcloud_rule_window_end_timestamp_seconds",
        "When the approval window of a "
        "live cgcloud rule ends (00:00 local after its last day), like "
        "probe_ssl_earliest_cert_expiry; one series per form row and port.",
        [*TENANT, "form", "row", "port", "high_risk"],
    )
    past = gauge(
        "cgcloud_rules_open_past_window",
        "Live cgcloud security-group rules whose "
        "description says their window has ended (must be 0: `cgcloud enforce`).",
        [*TENANT, "high_risk"],
    )
    seen: dict[tuple[str, ...], float] = {}
    overdue: Counter[tuple[str, ...]] = Counter()
    for labels in group_tenant.values():
        for hr in ("true", "false"):
            overdue[(*labels, hr)] += 0
    for ar in actual.rules:
        reason = d.parse_description(ar.description)
        tenant = group_tenant.get(ar.group_id)
        if reason is None or tenant is None:
            continue
        try:
            end = clock.Window(
                clock.parse_date(reason.until), clock.parse_date(reason.until)
            ).closes_at.timestamp()
        except clock.ClockError:
            continue
        hr = "true" if _rule_high_risk(ar, reason, rows, hr_ports) else "false"
        key: tuple[str, ...] = (
            *tenant,
            reason.form,
            str(reason.row),
            _ports_text(ar.protocol, ar.port_min, ar.port_max),
            hr,
        )
        seen[key] = max(seen.get(key, 0.0), end)
        if end <= now_ts:
            overdue[(*tenant, hr)] += 1
    for series, end in sorted(seen.items()):
        ends.add_metric(list(series), end)
    for series, n in sorted(overdue.items()):
        past.add_metric(list(series), n)


def managed_groups(actual: p.ActualState) -> dict[str, str]:
    """Group id → system for the groups cgcloud owns, decided as the plan decides
    (``plan.group_identity``: key marker in the description inside a managed project,
    or the older tags)."""
    identity = getattr(p, "group_identity", None)
    projects = p.managed_projects_by_id(actual.projects) if identity else {}
    out = {}
    for g in actual.groups:
        if identity is not None:
            found = identity(g, projects)
            if found is not None:
                out[g.id] = found[1]
        elif p.is_managed(g.tags):
            out[g.id] = p._tag_value(g.tags, d.SYSTEM_TAG) or ""
    return out


def _bastions(repo: Any) -> set[int]:
    return set(repo.zones.bastion_values) if repo is not None and repo.zones else set()


def _exposure_families(inp: Inputs, gauge: Gauge) -> None:
    """SSH/RDP reachable from anything but a bastion, in every group of the cloud."""
    assert inp.view is not None
    actual = inp.view.actual
    bastions = _bastions(inp.repo)
    groups = {g.id: g for g in actual.groups}
    ours = managed_groups(actual)
    projects = {pr.id: pr for pr in actual.projects}
    found: Counter[tuple[str, ...]] = Counter()
    for ap in actual.projects:
        system = p._tag_value(ap.tags, d.SYSTEM_TAG)
        if p.is_managed(ap.tags) and system:
            for svc in SERVICES:
                found[(ap.name, ap.id, system, svc, "true")] += 0
    for rule in inp.view.ingress:
        if rule.remote_group_id:
            continue  # east-west inside the project's own groups (e.g. `default`)
        if _from_bastion(rule.remote_cidr, bastions):
            continue
        g = groups.get(rule.group_id)
        if g is None:
            continue
        pr = projects.get(g.project_id)
        system = (p._tag_value(pr.tags, d.SYSTEM_TAG) if pr else None) or ""
        managed = "true" if g.id in ours else "false"
        for svc, specs in SERVICES.items():
            if any(_covers(rule, proto, port) for proto, port in specs):
                found[(pr.name if pr else "", g.project_id, system, svc, managed)] += 1
    fam = gauge(
        "cgcloud_ssh_rdp_exposures",
        "Ingress rules in the live cloud (any group, "
        "managed by cgcloud or not) that open SSH (TCP22) or RDP (3389) from anything "
        "but a bastion host (第十九条).",
        [*TENANT, "service", "managed"],
    )
    for key, n in sorted(found.items()):
        fam.add_metric(list(key), n)


def _from_bastion(prefix: str | None, bastions: set[int]) -> bool:
    if not prefix:
        return False
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False
    return (
        isinstance(net, ipaddress.IPv4Network)
        and net.num_addresses == 1
        and int(net.network_address) in bastions
    )


def _plan_families(inp: Inputs, tenants: dict[str, tuple[str, str, str]], gauge: Gauge) -> None:
    assert inp.plan is not None
    drift = gauge(
        "cgcloud_drift_changes",
        "Changes `cgcloud apply` would make now (the cloud "
        "differs from the approved forms), by kind and action.",
        [*TENANT, "kind", "action"],
    )
    counts: Counter[tuple[str, ...]] = Counter()
    for labels in tenants.values():
        counts[(*labels, "rule", "delete")] += 0
    for c in inp.plan.changes:
        if c.action in p.CHANGE_ACTIONS:
            labels = tenants.get(c.system, ("", "", c.system))
            counts[(*labels, c.kind, c.action)] += 1
    for key, n in sorted(counts.items()):
        drift.add_metric(list(key), n)
    pend = gauge(
        "cgcloud_pending_placeholders",
        "Placeholders (系统名称-用途) named by live rows "
        "that no port of the system carries yet (rules and bindings wait for them).",
        TENANT,
    )
    pending = _pending_placeholders(inp)
    for system, labels in sorted(tenants.items()):
        if inp.state and inp.state.project(system):
            pend.add_metric(list(labels), len(pending.get(system, ())))


def _pending_placeholders(inp: Inputs) -> dict[str, set[str]]:
    """Placeholders of the desired state that no port of the system's project is tagged with."""
    assert inp.state is not None and inp.view is not None
    project_ids = {}
    for ap in inp.view.actual.projects:
        system = p._tag_value(ap.tags, d.SYSTEM_TAG)
        if p.is_managed(ap.tags) and system:
            project_ids[system] = ap.id
    tagged = {
        (port.project_id, t[len(d.PLACEHOLDER_TAG) :])
        for port in inp.view.actual.ports
        for t in port.tags
        if t.startswith(d.PLACEHOLDER_TAG)
    }
    wanted: dict[str, set[str]] = defaultdict(set)
    for g in inp.state.groups:
        if g.hosts.placeholder:
            wanted[g.system].add(g.hosts.placeholder)
    for r in inp.state.rules:
        if r.remote_placeholder:
            wanted[r.system].add(r.remote_placeholder)
    return {
        s: {n for n in names if (project_ids.get(s, ""), n) not in tagged}
        for s, names in wanted.items()
    }


# --------------------------------------------------------------------------- decommission


@dataclass(slots=True)
class Decommission:
    system: str
    form: str
    stage: str
    deletion_due: datetime | None
    hosts_remaining: int
    hosts_running: int


def decommissions(inp: Inputs) -> list[Decommission]:
    """The stage of every ShutdownNotice, as ``cgcloud.lifecycle`` (shared with enforce,
    upcoming and explain) reads it from the forms and the servers' marks."""
    if inp.repo is None or inp.view is None:
        return []
    projects = {
        p._tag_value(ap.tags, d.SYSTEM_TAG): ap
        for ap in inp.view.actual.projects
        if p.is_managed(ap.tags)
    }
    out = []
    for notice in sorted(inp.repo.shutdowns, key=lambda n: n.id):
        proj = projects.get(notice.system)
        servers = [s for s in inp.view.servers if proj and s.project_id == proj.id]
        st = lifecycle.status(notice, inp.now, proj, servers)
        out.append(
            Decommission(
                notice.system,
                notice.id,
                st.stage,
                st.deletion_due,
                st.hosts_remaining,
                st.hosts_running,
            )
        )
    return out


def _decommission_families(
    inp: Inputs, tenants: dict[str, tuple[str, str, str]], gauge: Gauge
) -> None:
    stage = gauge(
        "cgcloud_decommission_stage",
        "Decommission stage of a ShutdownNotice (StateSet: 1 for the current stage).",
        [*TENANT, "form", "stage"],
    )
    due = gauge(
        "cgcloud_decommission_deletion_due_timestamp_seconds",
        "When the powered-off "
        "hosts become due for deletion (seven full days after the recorded power-off).",
        [*TENANT, "form"],
    )
    left = gauge(
        "cgcloud_decommission_hosts_remaining",
        "Hosts of a ShutdownNotice still in the cloud.",
        [*TENANT, "form", "state"],
    )
    for dc in decommissions(inp):
        labels = list(tenants.get(dc.system, (dc.system, "", dc.system)))
        for s in DECOMMISSION_STAGES:
            stage.add_metric([*labels, dc.form, s], 1 if s == dc.stage else 0)
        if dc.deletion_due is not None:
            due.add_metric([*labels, dc.form], dc.deletion_due.timestamp())
        left.add_metric([*labels, dc.form, "running"], dc.hosts_running)
        left.add_metric([*labels, dc.form, "stopped"], dc.hosts_remaining - dc.hosts_running)


# --------------------------------------------------------------------------- rendering


class SnapshotCollector:
    """A prometheus-client custom collector over families computed once per refresh."""

    def __init__(self, families: Iterable[Metric]):
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def render(families: Iterable[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(families))  # type: ignore[arg-type]
    return generate_latest(registry)


@dataclass(slots=True)
class Rendered:
    text: bytes
    _gz: bytes | None = None

    def gz(self) -> bytes:
        if self._gz is None:
            self._gz = gzip.compress(self.text, compresslevel=1)
        return self._gz
