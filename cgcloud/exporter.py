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

Metric names and labels are documented in docs/metrics.md.
"""

from __future__ import annotations

import gzip
import ipaddress
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from cgcloud import __version__, clock, enforce
from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.backoff import Backoff
from cgcloud.i18n import _

TENANT = ["tenant", "tenant_id", "system"]  # openstack-exporter's labels, plus ours
GIB = 1024**3
MIB = 1024**2
SERVICES = {"ssh": [("tcp", 22)], "rdp": [("tcp", 3389), ("udp", 3389)]}
DECOMMISSION_STAGES = ("scheduled", "awaiting_confirmation", "power_off_due", "powered_off",
                       "deletion_due", "reclaimed")


# --------------------------------------------------------------------------- cloud view


@dataclass(slots=True)
class Server:
    id: str
    project_id: str
    status: str
    ips: list[str]
    metadata: dict[str, str]
    vcpus: int = 0
    ram_mb: int = 0
    disk_gb: int = 0


@dataclass(slots=True)
class CloudView:
    """What one refresh read: the reconciler's ActualState plus what metrics need beyond it
    (every ingress rule, servers, volumes, floating IPs) — a fixed number of list calls."""

    actual: p.ActualState
    ingress: list[dict[str, Any]] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    volume_gb: dict[str, int] = field(default_factory=dict)  # project id → GB in volumes
    floating_ips: dict[str, int] = field(default_factory=dict)  # project id → count
    requests: int = 0


def read_cloud(engine: Any, state: d.DesiredState | None) -> CloudView:
    """One refresh's reads. Costs: the engine's read (every group's rules come with it)
    + 3 paginated lists (never per rule)."""
    start = engine.requests
    actual = engine.read(state)
    view = CloudView(actual)
    view.ingress = [{"id": r.id, "security_group_id": r.group_id, "ethertype": r.ethertype,
                     "protocol": r.protocol, "port_range_min": r.port_min,
                     "port_range_max": r.port_max, "remote_ip_prefix": r.remote_cidr,
                     "remote_group_id": r.remote_group_id}
                    for r in (*actual.rules, *actual.foreign_rules) if r.direction == "ingress"]
    for x in engine._pages("floatingips", {"fields": ["id", "project_id"]}):
        pid = x.get("project_id") or ""
        view.floating_ips[pid] = view.floating_ips.get(pid, 0) + 1
    if "compute" in actual.services:
        for x in _nova_pages(engine, "compute", "/servers/detail", "servers",
                             {"all_tenants": "True"}, microversion="2.73"):
            fl = x.get("flavor") or {}
            ips = [a.get("addr", "") for net in (x.get("addresses") or {}).values() for a in net]
            view.servers.append(Server(
                x["id"], x.get("tenant_id") or x.get("project_id") or "", x.get("status", ""),
                ips, dict(x.get("metadata") or {}), int(fl.get("vcpus") or 0),
                int(fl.get("ram") or 0), int(fl.get("disk") or 0)))
    if "volume" in actual.services:
        for x in _nova_pages(engine, "volume", "/volumes/detail", "volumes",
                             {"all_tenants": "True"}):
            pid = x.get("os-vol-tenant-attr:tenant_id") or ""
            view.volume_gb[pid] = view.volume_gb.get(pid, 0) + int(x.get("size") or 0)
    view.requests = engine.requests - start
    return view


def _nova_pages(engine: Any, service: str, url: str, key: str, params: dict[str, Any],
                **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Nova/Cinder lists by limit/marker (they share the `<key>_links` convention)."""
    q: dict[str, Any] = {"limit": 1000, **params}
    while True:
        body = engine.call(service, "GET", url, params=q, **kwargs) or {}
        items = body.get(key, [])
        yield from items
        if not items or not body.get(f"{key}_links"):
            return
        q = {**q, "marker": items[-1]["id"]}


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


def _covers(rule: dict[str, Any], proto: str, port: int) -> bool:
    """Does a Neutron rule (API dict) open ``proto``/``port``? No protocol = everything."""
    get = rule.get
    rp = get("protocol")
    rp = None if rp in (None, "", "any") else str(rp).lower()
    if rp is not None and rp != proto and rp != {"tcp": "6", "udp": "17"}[proto]:
        return False
    lo, hi = get("port_range_min"), get("port_range_max")
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


def _rule_high_risk(ar: p.ARule, reason: d.Reason, rows: dict[tuple[str, int], bool],
                    hr_ports: list[tuple[str, int, int]]) -> bool:
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
    clk = gauge("cgcloud_exporter_clock_timestamp_seconds",
                "The time this snapshot was computed for (injected with --now/--now-file, "
                "else the wall clock); compare windows against this, not time().", [])
    clk.add_metric([], now_ts)

    # ---- validation findings: every registered rule, 0 included
    from cgcloud.rules import REGISTRY

    counts = Counter((f.rule, str(f.severity)) for f in inp.findings)
    vf = gauge("cgcloud_validation_findings", "Findings of `cgcloud validate` on the watched "
               "repository, by rule ID and severity.", ["rule", "severity"])
    for rid, rule in sorted(REGISTRY.items()):
        sev = str(rule.severity)
        vf.add_metric([rid, sev], counts.pop((rid, sev), 0))
    for (rid, sev), n in sorted(counts.items()):
        vf.add_metric([rid, sev], n)

    # ---- approvals
    year_end = clock.start_of_day_after(clock.today(inp.now).replace(month=12, day=31))
    lapsed = gauge("cgcloud_approval_lapsed", "1 when a managed project has no approved "
                   "ResourceApplication for the current year (续期或关停); never deleted for it.",
                   TENANT)
    expiry = gauge("cgcloud_approval_expiry_timestamp_seconds", "When this year's approval of "
                   "the system's resources lapses (00:00 local after 31 December).", TENANT)
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
    if inp.view is not None:
        _rule_families(inp, tenants, gauge, now_ts)
        _exposure_families(inp, gauge)
        _decommission_families(inp, tenants, gauge)
    if inp.plan is not None:
        _plan_families(inp, tenants, gauge)
    return fams


def _build_info() -> GaugeMetricFamily:
    g = GaugeMetricFamily("cgcloud_build_info", "cgcloud's version (value 1).",
                          labels=["version", "python"])
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
        "vcpus": "vCPUs", "ram_bytes": "memory in bytes", "disk_bytes":
        "disk in bytes (system disks of servers + volumes)", "public_ips": "public (floating) IPs",
    }
    approved_f = {k: gauge(f"cgcloud_approved_{k}", f"Approved {v} for the current year "
                           "(sum of approved new + expand forms).", TENANT)
                  for k, v in names.items()}
    used_f = {k: gauge(f"cgcloud_used_{k}", f"{v[0].upper() + v[1:]} in use in the project.",
                       TENANT) for k, v in names.items()}
    ratio = gauge("cgcloud_quota_utilization_ratio", "Used / approved (1 = all of it; "
                  "above 1 = more than approved).", [*TENANT, "resource"])
    for proj in inp.state.projects:
        labels = list(tenants.get(proj.system, (proj.name, "", proj.system)))
        q = proj.quotas
        approved = {"vcpus": q.cores, "ram_bytes": q.ram_mb * MIB, "disk_bytes": q.gigabytes * GIB,
                    "public_ips": q.floating_ips}
        u = used.get(labels[1], {}) if labels[1] else {}
        for k in names:
            approved_f[k].add_metric(labels, approved[k])
            if inp.view is not None:
                used_f[k].add_metric(labels, u.get(k, 0.0))
                if approved[k]:
                    ratio.add_metric([*labels, k], u.get(k, 0.0) / approved[k])
                elif u.get(k):
                    ratio.add_metric([*labels, k], float("inf"))


def _rule_families(inp: Inputs, tenants: dict[str, tuple[str, str, str]], gauge: Gauge,
                   now_ts: float) -> None:
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
    ends = gauge("cgcloud_rule_window_end_timestamp_seconds", "When the approval window of a "
                 "live cgcloud rule ends (00:00 local after its last day), like "
                 "probe_ssl_earliest_cert_expiry; one series per form row and port.",
                 [*TENANT, "form", "row", "port", "high_risk"])
    past = gauge("cgcloud_rules_open_past_window", "Live cgcloud security-group rules whose "
                 "description says their window has ended (must be 0: `cgcloud enforce`).",
                 [*TENANT, "high_risk"])
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
            end = clock.Window(clock.parse_date(reason.until),
                               clock.parse_date(reason.until)).closes_at.timestamp()
        except clock.ClockError:
            continue
        hr = "true" if _rule_high_risk(ar, reason, rows, hr_ports) else "false"
        key: tuple[str, ...] = (*tenant, reason.form, str(reason.row),
                                _ports_text(ar.protocol, ar.port_min, ar.port_max), hr)
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
        if rule.get("remote_group_id"):
            continue  # east-west inside the project's own groups (e.g. `default`)
        if _from_bastion(rule.get("remote_ip_prefix"), bastions):
            continue
        g = groups.get(rule.get("security_group_id", ""))
        if g is None:
            continue
        pr = projects.get(g.project_id)
        system = (p._tag_value(pr.tags, d.SYSTEM_TAG) if pr else None) or ""
        managed = "true" if g.id in ours else "false"
        for svc, specs in SERVICES.items():
            if any(_covers(rule, proto, port) for proto, port in specs):
                found[(pr.name if pr else "", g.project_id, system, svc, managed)] += 1
    fam = gauge("cgcloud_ssh_rdp_exposures", "Ingress rules in the live cloud (any group, "
                "managed by cgcloud or not) that open SSH (TCP22) or RDP (3389) from anything "
                "but a bastion host (第十九条).", [*TENANT, "service", "managed"])
    for key, n in sorted(found.items()):
        fam.add_metric(list(key), n)


def _from_bastion(prefix: str | None, bastions: set[int]) -> bool:
    if not prefix:
        return False
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False
    return (isinstance(net, ipaddress.IPv4Network) and net.num_addresses == 1
            and int(net.network_address) in bastions)


def _plan_families(inp: Inputs, tenants: dict[str, tuple[str, str, str]], gauge: Gauge) -> None:
    assert inp.plan is not None
    drift = gauge("cgcloud_drift_changes", "Changes `cgcloud apply` would make now (the cloud "
                  "differs from the approved forms), by kind and action.",
                  [*TENANT, "kind", "action"])
    counts: Counter[tuple[str, ...]] = Counter()
    for labels in tenants.values():
        counts[(*labels, "rule", "delete")] += 0
    for c in inp.plan.changes:
        if c.action in p.CHANGE_ACTIONS:
            labels = tenants.get(c.system, ("", "", c.system))
            counts[(*labels, c.kind, c.action)] += 1
    for key, n in sorted(counts.items()):
        drift.add_metric(list(key), n)
    pend = gauge("cgcloud_pending_placeholders", "Placeholders (系统名称-用途) named by live rows "
                 "that no port of the system carries yet (rules and bindings wait for them).",
                 TENANT)
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
    tagged = {(port.project_id, t[len(d.PLACEHOLDER_TAG):]) for port in inp.view.actual.ports
              for t in port.tags if t.startswith(d.PLACEHOLDER_TAG)}
    wanted: dict[str, set[str]] = defaultdict(set)
    for g in inp.state.groups:
        if g.hosts.placeholder:
            wanted[g.system].add(g.hosts.placeholder)
    for r in inp.state.rules:
        if r.remote_placeholder:
            wanted[r.system].add(r.remote_placeholder)
    return {s: {n for n in names if (project_ids.get(s, ""), n) not in tagged}
            for s, names in wanted.items()}


# --------------------------------------------------------------------------- decommission


@dataclass(slots=True)
class Decommission:
    system: str
    form: str
    stage: str
    deletion_due: datetime | None
    hosts_remaining: int
    hosts_running: int


def power_off_time(server: Server) -> datetime | None:
    """The power-off time enforce recorded on the server (metadata ``cgcloud:poweroff``)."""
    return enforce.poweroff_of(server.metadata)


def deletion_due(poweroff: datetime) -> datetime:
    """Seven full local days after the recorded power-off: enforce's own clock."""
    return enforce.delete_due(poweroff)


def decommissions(inp: Inputs) -> list[Decommission]:
    """The stage of every ShutdownNotice, read like `cgcloud enforce` reads it (附件3).

    scheduled (before `shutdown_date`) → awaiting_confirmation (operator has not
    confirmed `data_copied`: nothing is touched) → power_off_due (a listed host
    has no recorded power-off) → powered_off (kept seven full days) →
    deletion_due (a host's seven days are over and it still exists) → reclaimed
    (no listed host left, or the project is tagged decommissioned).
    """
    if inp.repo is None or inp.view is None:
        return []
    today = clock.today(inp.now)
    done_tag = getattr(d, "DECOMMISSIONED_TAG", "cgcloud:decommissioned=")
    projects = {p._tag_value(ap.tags, d.SYSTEM_TAG): ap for ap in inp.view.actual.projects
                if p.is_managed(ap.tags)}
    out = []
    for notice in sorted(inp.repo.shutdowns, key=lambda n: n.id):
        proj = projects.get(notice.system)
        servers = [s for s in inp.view.servers if proj and s.project_id == proj.id]
        if not notice.all_hosts:
            hosts = {h.strip() for h, _port in notice.hosts}
            servers = [s for s in servers if hosts & set(s.ips)]
        offs = [power_off_time(s) for s in servers]
        running = sum(1 for s in servers if s.status.upper() == "ACTIVE")
        dues = [deletion_due(o) for o in offs if o is not None]
        due = min(dues) if dues else None
        biz = notice.business_division
        confirmed = bool(notice.data_copied and notice.operator and notice.operator.signed)
        if (biz is None or not biz.signed or notice.shutdown_date is None
                or today < notice.shutdown_date):
            stage = "scheduled"
        elif not confirmed:
            stage = "awaiting_confirmation"
        elif proj is None or not servers or p._tag_value(proj.tags, done_tag):
            stage = "reclaimed"
        elif not all(offs):
            stage = "power_off_due"
        elif due is not None and inp.now < due:
            stage = "powered_off"
        else:
            stage = "deletion_due"
        out.append(Decommission(notice.system, notice.id, stage, due, len(servers), running))
    return out


def _decommission_families(inp: Inputs, tenants: dict[str, tuple[str, str, str]],
                           gauge: Gauge) -> None:
    stage = gauge("cgcloud_decommission_stage", "Decommission stage of a ShutdownNotice "
                  "(StateSet: 1 for the current stage).", [*TENANT, "form", "stage"])
    due = gauge("cgcloud_decommission_deletion_due_timestamp_seconds", "When the powered-off "
                "hosts become due for deletion (seven full days after the recorded power-off).",
                [*TENANT, "form"])
    left = gauge("cgcloud_decommission_hosts_remaining", "Hosts of a ShutdownNotice still in "
                 "the cloud.", [*TENANT, "form", "state"])
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


# --------------------------------------------------------------------------- the exporter


def make_clock(now: str | None = None, now_file: Path | None = None) -> Callable[[], datetime]:
    """The exporter's clock: fixed (--now), read from a file at each refresh (--now-file,
    a testing aid; empty or missing file = wall clock), or the wall clock."""
    if now is not None:
        fixed = clock.now_local(now)
        return lambda: fixed
    if now_file is not None:
        def from_file() -> datetime:
            try:
                text = now_file.read_text(encoding="utf-8").strip()
            except OSError:
                text = ""
            return clock.now_local(text or None)
        return from_file
    return lambda: clock.now_local(None)


class Exporter:
    """Refreshes a snapshot in a background thread and serves it over HTTP."""

    def __init__(self, paths: list[Path], cloud: str, *, refresh: float = 60.0,
                 now: Callable[[], datetime] | None = None,
                 include: list[Path] | None = None,
                 engine_factory: Callable[[str], Any] | None = None,
                 log: Callable[[str], None] | None = None,
                 timeout: float | None = None):
        self.paths = paths
        self.timeout = timeout
        self.cloud = cloud
        self.interval = refresh
        self.now = now or make_clock()
        self.include = include or []
        self._engine_factory = engine_factory
        self._engine: Any = None
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._data = Rendered(b"")
        self._status = Rendered(b"")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0
        self.errors = 0
        self.last_success = 0.0
        self.last_duration = 0.0
        self.last_requests = 0
        self.last_ok = False
        self.cloud_up: bool | None = None  # None: not tried yet
        self.cloud_last_success = 0.0
        self.backoff = Backoff(first=min(5.0, refresh), cap=refresh)
        self.next_delay = refresh
        self.ready = threading.Event()
        self._render_status()

    # ---- refresh

    def engine(self) -> Any:
        if self._engine is None:
            if self._engine_factory is not None:
                self._engine = self._engine_factory(self.cloud)
            else:
                from cgcloud.engines.openstack import OpenStackEngine

                self._engine = OpenStackEngine(self.cloud, audit_path=None,
                                               timeout=self.timeout)
        return self._engine

    def gather(self, now: datetime) -> Inputs:
        """Policies → findings → desired state; cloud → view; diff. No rendering."""
        from cgcloud import validate as pipeline

        inp = Inputs(now=now)
        v = pipeline.validate(self.paths, now)
        inp.repo, inp.findings = v.repo, v.findings
        try:
            inp.state = d.compile(v.repo, now)
        except Exception as exc:  # noqa: BLE001 - a broken repository still gets findings
            self.log(f"cgcloud exporter: desired state not computed: {type(exc).__name__}: {exc}")
        try:
            inp.view = read_cloud(self.engine(), inp.state)
        except Exception:
            self.cloud_up = False
            self._engine = None  # the next try connects (and authenticates) afresh
            raise
        self.cloud_up, self.cloud_last_success = True, time.time()
        if inp.state is not None:
            inp.plan = p.diff(inp.state, inp.view.actual, cloud=self.cloud)
        return inp

    def refresh(self) -> bool:
        t0 = time.monotonic()
        self.refreshes += 1
        try:
            inp = self.gather(self.now())
            families = compute(inp) + list(_included(self.include))
            data = Rendered(render(families))
        except Exception as exc:  # noqa: BLE001 - keep serving the last good snapshot
            self.errors += 1
            self.last_ok = False
            self.next_delay = self.backoff.failed()
            self.log(_("cgcloud exporter: 刷新失败（第 {n} 次连续失败），{s:.0f} 秒后重试: {err}"
                       ).format(n=self.backoff.failures, s=self.next_delay,
                                err=_one_line(exc)))
        else:
            if self.backoff.failures:
                self.log(_("cgcloud exporter: 刷新恢复正常（此前连续失败 {n} 次）").format(
                    n=self.backoff.failures))
            self.backoff.succeeded()
            self.next_delay = self.interval
            self.last_ok = True
            self.last_success = time.time()
            self.last_requests = inp.view.requests if inp.view else 0
            with self._lock:
                self._data = data
        self.last_duration = time.monotonic() - t0
        self._render_status()
        self.ready.set()
        return self.last_ok

    def _render_status(self) -> None:
        fams: list[Metric] = []

        def g(name: str, doc: str, value: float) -> None:
            m = GaugeMetricFamily(name, doc, labels=["cloud"])
            m.add_metric([self.cloud], value)
            fams.append(m)

        g("cgcloud_exporter_last_refresh_success", "1 when the last refresh worked (else the "
          "previous snapshot is served).", 1 if self.last_ok else 0)
        g("cgcloud_exporter_last_refresh_success_timestamp_seconds", "Wall time of the last "
          "successful refresh (0 = none yet).", self.last_success)
        g("cgcloud_exporter_refresh_duration_seconds", "Duration of the last refresh.",
          self.last_duration)
        g("cgcloud_exporter_refresh_api_requests", "OpenStack API requests of the last "
          "successful refresh.", self.last_requests)
        g("cgcloud_exporter_refresh_interval_seconds", "Configured --refresh.", self.interval)
        g("cgcloud_exporter_consecutive_refresh_failures", "Refreshes failed in a row (the "
          "next try waits a jittered back-off, at most --refresh).", self.backoff.failures)
        if self.cloud_up is not None:
            g("cgcloud_cloud_up", "1 when the last refresh read the cloud, 0 when it could "
              "not (unreachable, timed out, refused the credentials).", 1 if self.cloud_up else 0)
        g("cgcloud_cloud_last_success_timestamp_seconds", "Wall time the cloud was last read "
          "in full (0 = never).", self.cloud_last_success)
        c = CounterMetricFamily("cgcloud_exporter_refreshes", "Refreshes attempted.",
                                labels=["cloud"])
        c.add_metric([self.cloud], self.refreshes)
        fams.append(c)
        e = CounterMetricFamily("cgcloud_exporter_refresh_errors", "Refreshes that failed.",
                                labels=["cloud"])
        e.add_metric([self.cloud], self.errors)
        fams.append(e)
        with self._lock:
            self._status = Rendered(render(fams))

    def payload(self, gz: bool) -> bytes:
        with self._lock:
            data, status = self._data, self._status
        if gz:
            return data.gz() + status.gz() if data.text else status.gz()
        return data.text + status.text

    # ---- lifecycle

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                self.refresh()
                self._stop.wait(self.next_delay)

        self._thread = threading.Thread(target=loop, name="cgcloud-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def set_snapshot(self, families: Iterable[Metric]) -> None:
        """Serve these families (benchmarks and tests of the HTTP side)."""
        data = Rendered(render(families))
        with self._lock:
            self._data = data
        self.last_ok, self.last_success = True, time.time()
        self._render_status()
        self.ready.set()


def _included(paths: list[Path]) -> Iterator[Metric]:
    """Run results written by `--textfile` (apply/enforce), re-exposed for setups without a
    node-exporter textfile collector."""
    from prometheus_client.parser import text_string_to_metric_families

    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        yield from text_string_to_metric_families(text)


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one redacted line: cgcloud's own errors (Chinese, naming service and
    endpoint) as they are, others with their type."""
    from cgcloud.engines.connection import CloudConfigError, redact
    from cgcloud.engines.openstack import EngineError

    text = str(exc) if isinstance(exc, EngineError | CloudConfigError) else (
        f"{type(exc).__name__}: {exc}")
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[:limit] + "…"


def make_server(exporter: Exporter, host: str, port: int,
                limits: Any = None) -> Any:
    """GET/HEAD /metrics serves the cached bytes (gzip when asked); nothing touches
    OpenStack. The server is bounded (cgcloud/metrics_server.py)."""
    from cgcloud.metrics_server import MetricsServer

    def handle(path: str, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        if path == "/metrics":
            gz = "gzip" in headers.get("accept-encoding", "")
            extra = [("Content-Type", CONTENT_TYPE_LATEST)]
            if gz:
                extra.append(("Content-Encoding", "gzip"))
            return 200, extra, exporter.payload(gz)
        if path in ("/-/healthy", "/-/ready"):
            ok = path == "/-/healthy" or exporter.ready.is_set()
            return (200 if ok else 503), [("Content-Type", "text/plain")], (
                b"OK\n" if ok else b"not ready\n")
        if path == "/":
            return 200, [("Content-Type", "text/html")], (
                b"<html><body><h1>cgcloud exporter</h1><a href='/metrics'>/metrics</a>"
                b"</body></html>\n")
        return 404, [("Content-Type", "text/plain")], b"not found\n"

    return MetricsServer(handle, host, port, limits, log=exporter.log)


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:9477` / `[::1]:9477` / `:9477` (= 127.0.0.1) / `localhost:9477`; a port
    outside 1–65535 or a host that is neither an IP address nor a host name is refused."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit():
        raise ValueError(_("--listen {v!r}: 应为 HOST:PORT，例如 127.0.0.1:9477").format(v=text))
    if not 1 <= int(port) <= 65535:
        raise ValueError(_("--listen {v!r}: 端口 {p} 不在 1–65535 之内").format(v=text, p=port))
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    host = host or "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if bracketed or not _HOSTNAME.fullmatch(host):
            raise ValueError(_("--listen {v!r}: {h!r} 不是 IP 地址或主机名").format(
                v=text, h=host)) from None
    else:
        if ip.version == 6 and not bracketed:
            raise ValueError(_("--listen {v!r}: IPv6 地址要写在方括号里，例如 [::1]:9477"
                               ).format(v=text))
    return host, int(port)


_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
