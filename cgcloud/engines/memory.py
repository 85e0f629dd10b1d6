"""The in-memory reference engine: a small cloud in a Python process.

Why it exists: the core's behaviour (apply order, fingerprints, enforce passes,
decommission stages, metrics) can be tested in milliseconds on every run, and the
contract suite (tests/contract/) runs the same scenarios here and on the OpenStack
devcloud, so the two engines are held to the same plans and outcomes.

It behaves like the cloud cgcloud meets, where that matters to cgcloud: ids are
generated, names of projects are unique, quotas are enforced (a rule or group over
the project's quota is refused, a quota below usage is refused), a new project gets
a ``default`` group with ``QUOTA_ROOM.rules`` rules and a new group gets
``QUOTA_ROOM.rules_per_new_group`` egress rules (apply removes them, as on Neutron), a
security-group rule has no tags and cannot be updated, a port takes tags, leases are
atomic. Failures on demand: ``fail("create", "rule")`` makes the next such call
raise ``EngineError`` (``times=None``: every one).

Not a fake of the OpenStack API: it implements the ``Engine`` protocol directly.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.actual import (
    ActualState,
    AFlavor,
    AGroup,
    APort,
    AProject,
    ARule,
    FloatingIP,
    Inventory,
    Port,
    Server,
    Volume,
)
from cgcloud.engines.audit import AuditLog
from cgcloud.engines.base import (
    APPLY_LOCK,
    DEFAULT_LOCK_TTL,
    ApplyResult,
    EngineError,
    LockHeld,
    LockHolder,
    Progress,
    ServerPower,
    Step,
    Usage,
    VolumeUse,
)
from cgcloud.engines.steps import change_steps, fingerprint_steps, untag_steps
from cgcloud.engines.steps import group_ids as known_group_ids
from cgcloud.engines.steps import project_ids as known_project_ids
from cgcloud.i18n import _

if TYPE_CHECKING:
    from cgcloud.enforce import Action

# what a new project may use before anyone raises its quotas (Nova/Cinder/Neutron defaults)
DEFAULT_QUOTAS = {
    "instances": 10,
    "cores": 20,
    "ram_mb": 51200,
    "gigabytes": 1000,
    "floating_ips": 50,
    "security_groups": 10,
    "security_group_rules": 100,
}
NETWORK_KEYS = ("floating_ips", "security_groups", "security_group_rules")
# what this cloud puts in a project by itself, as Neutron does (the quotas leave room)
QUOTA_ROOM = d.QuotaRoom(groups=1, rules=4, rules_per_new_group=2)
SHUTDOWN_KEY = "cgcloud:shutdown"  # the marks enforce reads (cgcloud.enforce)
POWEROFF_KEY = "cgcloud:poweroff"
POWERON_SEEN_KEY = "cgcloud:poweron-seen"


@dataclass(slots=True)
class _Failure:
    op: str
    kind: str
    times: int | None
    message: str


@dataclass
class MemoryCloud:
    """The state of one in-memory cloud; several engines may share it (two "machines")."""

    projects: dict[str, AProject] = field(default_factory=dict)
    groups: dict[str, AGroup] = field(default_factory=dict)
    rules: dict[str, ARule] = field(default_factory=dict)
    ports: dict[str, APort] = field(default_factory=dict)
    port_devices: dict[str, str] = field(default_factory=dict)  # port id → server id
    flavors: dict[str, AFlavor] = field(default_factory=dict)
    quotas: dict[str, dict[str, int]] = field(default_factory=dict)
    volume_types: list[str] = field(default_factory=list)
    servers: dict[str, Server] = field(default_factory=dict)
    volumes: dict[str, Volume] = field(default_factory=dict)
    floating_ips: dict[str, FloatingIP] = field(default_factory=dict)
    leases: dict[str, LockHolder] = field(default_factory=dict)
    services: list[str] = field(default_factory=lambda: ["compute", "volume", "network"])
    # what Nova/Cinder date and type that actual.Server/Volume do not carry (read_usage)
    changed_at: dict[str, datetime] = field(default_factory=dict)  # server/volume id → when
    attached_at: dict[str, datetime] = field(default_factory=dict)  # volume id → when
    volume_tiers: dict[str, str] = field(default_factory=dict)  # volume id → type name
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):06d}"


class MemoryEngine:
    """The ``Engine`` protocol over a ``MemoryCloud`` (a fresh one unless given)."""

    name = "memory"
    quota_room = QUOTA_ROOM

    def __init__(
        self,
        cloud: str = "memory",
        *,
        audit_path: Path | None = None,
        state: MemoryCloud | None = None,
        actor: str = "memory",
        timeout: float | None = None,
    ):
        self.cloud = cloud
        self.timeout = timeout  # nothing here waits on a network: kept for the protocol
        self.state = state if state is not None else MemoryCloud()
        self.requests = 0
        self.audit_path = audit_path
        self.audit = AuditLog(audit_path, cloud, actor)
        self.actor = actor
        self._failures: list[_Failure] = []
        self._held: set[str] = set()  # the leases this engine took

    # ------------------------------------------------------------ failures, plumbing

    def fail(
        self, op: str, kind: str, *, times: int | None = 1, message: str = "injected failure"
    ) -> None:
        """Make the next ``times`` calls ``op`` on ``kind`` fail (None: all of them).
        ops: create, update, delete, read; kinds: project, quota, flavor, group, rule,
        binding, fingerprint, server, volume, port, floating_ip, lock."""
        self._failures.append(_Failure(op, kind, times, message))

    def _call(self, op: str, kind: str) -> None:
        """Count one request; raise if a failure was asked for it."""
        self.requests += 1
        for f in self._failures:
            if f.op == op and f.kind == kind and (f.times is None or f.times > 0):
                if f.times is not None:
                    f.times -= 1
                raise EngineError(f"{op} {kind}: {f.message}")

    def _quota_check(self, pid: str, key: str, used: int) -> None:
        limit = self.state.quotas.get(pid, {}).get(key, DEFAULT_QUOTAS[key])
        if limit >= 0 and used > limit:
            raise EngineError(
                _("项目 {project} 的配额 {key} 不足: {used} > {limit}").format(
                    project=pid, key=key, used=used, limit=limit
                )
            )

    def _group_rules(self, gid: str) -> list[ARule]:
        return [r for r in self.state.rules.values() if r.group_id == gid]

    def _project_rules(self, pid: str) -> int:
        gids = {g.id for g in self.state.groups.values() if g.project_id == pid}
        return sum(1 for r in self.state.rules.values() if r.group_id in gids)

    def _project_groups(self, pid: str) -> int:
        return sum(1 for g in self.state.groups.values() if g.project_id == pid)

    # ------------------------------------------------------------ building a cloud (tests)

    def add_project(
        self, name: str, tags: list[str] | None = None, description: str = ""
    ) -> AProject:
        """A project as someone else made it (a Neutron ``default`` group comes with it)."""
        with self.state.lock:
            if any(x.name == name for x in self.state.projects.values()):
                raise EngineError(_("项目 {name} 已存在").format(name=name))
            proj = AProject(self.state.new_id("project"), name, list(tags or []), description)
            self.state.projects[proj.id] = proj
            self.state.quotas[proj.id] = dict(DEFAULT_QUOTAS)
            default = AGroup(self.state.new_id("group"), "default", proj.id)
            self.state.groups[default.id] = default
            for i in range(QUOTA_ROOM.rules):
                ether = "IPv4" if i % 2 == 0 else "IPv6"
                direction = "ingress" if i < 2 else "egress"
                rid = self.state.new_id("rule")
                self.state.rules[rid] = ARule(
                    rid, default.id, direction, ether, remote_group_id=default.id if i < 2 else None
                )
            return proj

    def add_port(
        self,
        project_id: str,
        ips: list[str],
        *,
        tags: list[str] | None = None,
        infrastructure: bool = False,
        name: str = "",
        device_id: str = "",
    ) -> APort:
        with self.state.lock:
            port = APort(
                self.state.new_id("port"),
                project_id,
                list(ips),
                [],
                list(tags or []),
                infrastructure,
                name,
            )
            self.state.ports[port.id] = port
            self.state.port_devices[port.id] = device_id
            return port

    def add_server(
        self,
        project_id: str,
        name: str,
        ip: str,
        *,
        vcpus: int = 1,
        ram_mb: int = 512,
        disk_gb: int = 1,
        status: str = "ACTIVE",
        at: datetime | None = None,
    ) -> Server:
        """A running server with one port holding ``ip`` (its record last changed ``at``)."""
        with self.state.lock:
            server = Server(
                self.state.new_id("server"),
                name,
                project_id,
                status,
                [ip],
                {},
                vcpus,
                ram_mb,
                disk_gb,
            )
            self.state.servers[server.id] = server
            if at is not None:
                self.state.changed_at[server.id] = at
            self.add_port(project_id, [ip], device_id=server.id)
            return server

    def add_volume(
        self,
        project_id: str,
        size_gb: int,
        server_id: str | None = None,
        name: str = "",
        *,
        tier: str = "",
        at: datetime | None = None,
    ) -> Volume:
        """A volume of type ``tier``, created (and attached, with ``server_id``) at ``at``."""
        with self.state.lock:
            vol = Volume(
                self.state.new_id("volume"),
                name,
                project_id,
                size_gb,
                "in-use" if server_id else "available",
                [server_id] if server_id else [],
            )
            self.state.volumes[vol.id] = vol
            self.state.volume_tiers[vol.id] = tier
            if at is not None:
                self.state.changed_at[vol.id] = at
                if server_id:
                    self.state.attached_at[vol.id] = at
            return vol

    def set_power(self, server_id: str, on: bool, at: datetime) -> None:
        """Start or stop a server by hand at ``at`` (as an operator would, outside cgcloud)."""
        with self.state.lock:
            server = self._get(self.state.servers, server_id, "server")
            server.status = "ACTIVE" if on else "SHUTOFF"
            self.state.changed_at[server_id] = at

    def detach_volume(self, volume_id: str, at: datetime) -> None:
        """Detach a volume from its servers at ``at`` (the record changes then)."""
        with self.state.lock:
            vol = self._get(self.state.volumes, volume_id, "volume")
            vol.server_ids, vol.status = [], "available"
            self.state.changed_at[volume_id] = at

    def add_floating_ip(self, project_id: str, ip: str, port_id: str | None) -> FloatingIP:
        with self.state.lock:
            fip = FloatingIP(self.state.new_id("fip"), ip, port_id, project_id)
            self.state.floating_ips[fip.id] = fip
            return fip

    # ------------------------------------------------------------ read

    def services(self) -> list[str]:
        return list(self.state.services)

    def read_projects(self) -> list[AProject]:
        self._call("read", "project")
        with self.state.lock:
            return [copy.deepcopy(x) for x in self.state.projects.values()]

    def read(
        self,
        state: d.DesiredState | None = None,
        *,
        network_only: bool = False,
        projects: list[AProject] | None = None,
        scope: set[str] | None = None,
    ) -> ActualState:
        start = self.requests
        a = ActualState(services=self.services(), scope=scope)
        a.projects = list(projects) if projects is not None else self.read_projects()
        wanted = a.projects_to_read(state)
        owned = p.managed_projects_by_id(a.projects)
        self._call("read", "group")
        self._call("read", "port")
        with self.state.lock:
            scoped = set(wanted) if scope is not None else None
            for g in self.state.groups.values():
                if scoped is not None and g.project_id not in scoped:
                    continue
                a.groups.append(copy.deepcopy(g))
                into = a.rules if p.group_identity(g, owned) is not None else a.foreign_rules
                into.extend(copy.deepcopy(r) for r in self._group_rules(g.id))
            a.ports = [
                copy.deepcopy(x)
                for x in self.state.ports.values()
                if scoped is None or x.project_id in scoped
            ]
            for pid in wanted:
                q = self.state.quotas.get(pid, DEFAULT_QUOTAS)
                keys = (
                    NETWORK_KEYS if network_only else [k for k in q if _service_of(k) in a.services]
                )
                a.quotas[pid] = {k: q[k] for k in keys if k in q}
            if not network_only:
                a.flavors = [copy.deepcopy(f) for f in self.state.flavors.values()]
                a.volume_types = list(self.state.volume_types)
        a.requests = self.requests - start
        return a

    def read_placeholder_ports(self, names: list[str]) -> list[APort]:
        self._call("read", "port")
        tags = {d.PLACEHOLDER_TAG + n for n in names}
        with self.state.lock:
            return [copy.deepcopy(x) for x in self.state.ports.values() if tags & set(x.tags)]

    # ------------------------------------------------------------ apply

    def apply(
        self,
        state: d.DesiredState,
        plan: p.Plan,
        actual: ActualState,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> ApplyResult:
        """The plan's steps in the OpenStack engine's order (projects → quotas raised →
        flavors → groups → rule deletes → rule creates → bindings → group deletes →
        quotas lowered); after a failure nothing new starts."""
        result = ApplyResult(steps=change_steps(plan), untagged=untag_steps(plan))
        r0 = self.requests
        stopped = not self._run(result.untagged, self._write_fingerprint, stop_on_failure=True)
        pids = known_project_ids(actual)
        gids = known_group_ids(actual, plan)

        def phase(kind: str, action: str) -> list[Step]:
            return [s for s in result.steps if s.change.kind == kind and s.change.action == action]

        quotas = phase("quota", "update")
        order: list[tuple[list[Step], Any]] = [
            (
                phase("project", "create") + phase("project", "update"),
                lambda s: self._project(s, pids),
            ),
            (quotas, lambda s: self._quota(s, pids, lower=False)),
            (phase("flavor", "create"), self._flavor),
            (phase("group", "create"), lambda s: self._group(s, pids, gids)),
            (phase("rule", "delete"), self._delete),
            (phase("rule", "create"), lambda s: self._rule(s, pids, gids)),
            (phase("binding", "update"), lambda s: self._binding(s, gids)),
            (phase("group", "delete"), self._delete),
        ]
        for steps, fn in order:
            if stopped or (stop is not None and stop.is_set()):
                break
            stopped = not self._run(steps, fn, stop_on_failure=True, progress=progress)
        if not stopped and not (stop is not None and stop.is_set()):
            done = [s for s in quotas if s.status == "done"]
            self._run(done, lambda s: self._quota(s, pids, lower=True), stop_on_failure=True)
        result.requests = self.requests - r0
        return result

    def _run(
        self, steps: list[Step], fn: Any, *, stop_on_failure: bool, progress: Progress | None = None
    ) -> bool:
        """Run steps in order; False when one failed (and, with stop_on_failure, the rest
        were not started)."""
        ok = True
        for i, s in enumerate(steps):
            try:
                with self.state.lock:
                    fn(s)
                if s.status != "done":
                    s.status = "done"
            except EngineError as exc:
                s.status, s.error = "failed", str(exc)
                ok = False
            self.audit.write(s)
            if progress:
                progress(s.change.kind, i + 1, len(steps))
            if not ok and stop_on_failure:
                return False
        return ok

    def _project(self, s: Step, pids: dict[str | None, str]) -> None:
        c = s.change
        self._call(c.action, "project")
        if c.action == "create":
            proj = self.add_project(c.data["name"], c.data["tags"], c.data["description"])
            s.id = proj.id
            pids[c.system] = proj.id
            return
        proj = self._get(self.state.projects, c.id, "project")
        proj.description, proj.tags = c.data["description"], list(c.data["tags"])
        proj.fingerprints = list(c.data["fingerprints"])
        s.id = proj.id

    def _quota(self, s: Step, pids: dict[str | None, str], *, lower: bool) -> None:
        """Raise first (before creating), lower last (after deleting)."""
        pid = pids.get(s.change.system)
        if pid is None:
            raise EngineError(_("{system} 的项目不存在").format(system=s.change.system))
        s.id = pid
        before = s.change.before or {}
        if lower:
            values = {k: v for k, v in s.change.data["set"].items() if v < (before.get(k) or 0)}
        else:
            values = {k: max(v, before.get(k) or 0) for k, v in s.change.data["set"].items()}
        if not values:
            return
        self._call("update", "quota")
        used = {
            "security_groups": self._project_groups(pid),
            "security_group_rules": self._project_rules(pid),
        }
        for k, v in values.items():
            if k in used and v < used[k]:
                raise EngineError(
                    _("项目 {project} 的配额 {key} 不能低于已用量 {used}").format(
                        project=pid, key=k, used=used[k]
                    )
                )
        self.state.quotas.setdefault(pid, dict(DEFAULT_QUOTAS)).update(values)

    def _flavor(self, s: Step) -> None:
        self._call("create", "flavor")
        c = s.change
        desc = "cgcloud: " + "、".join(sorted({r.form for r in c.reasons}))
        fl = AFlavor(
            self.state.new_id("flavor"),
            c.data["name"],
            c.data["vcpus"],
            c.data["ram_mb"],
            c.data["disk_gb"],
            desc,
        )
        self.state.flavors[fl.id] = fl
        s.id = fl.id

    def _group(self, s: Step, pids: dict[str | None, str], gids: dict[str | None, str]) -> None:
        self._call("create", "group")
        c = s.change
        pid = pids.get(c.system)
        if pid is None:
            raise EngineError(_("{system} 的项目不存在").format(system=c.system))
        self._quota_check(pid, "security_groups", self._project_groups(pid) + 1)
        g = AGroup(self.state.new_id("group"), c.data["name"], pid, [], c.data["description"])
        self.state.groups[g.id] = g
        # the egress defaults a new group gets, removed at once (as apply does on Neutron)
        for ether in ("IPv4", "IPv6")[: QUOTA_ROOM.rules_per_new_group]:
            rid = self.state.new_id("rule")
            self.state.rules[rid] = ARule(rid, g.id, "egress", ether)
            self._call("delete", "rule")
            del self.state.rules[rid]
        s.id = g.id
        gids[c.data["key"]] = g.id

    def _rule(self, s: Step, pids: dict[str | None, str], gids: dict[str | None, str]) -> None:
        self._call("create", "rule")
        c = s.change
        gid = gids.get(c.data["rule"].group_key)
        if gid is None or gid not in self.state.groups:
            raise EngineError(_("规则所属的安全组不存在"))
        g = self.state.groups[gid]
        spec: p.RuleSpec = c.data["rule"]
        wanted = (
            spec.direction,
            spec.ethertype,
            spec.protocol,
            spec.port_min,
            spec.port_max,
            spec.remote_cidr,
        )
        same = [
            r
            for r in self._group_rules(gid)
            if (r.direction, r.ethertype, r.protocol, r.port_min, r.port_max, r.remote_cidr)
            == wanted
        ]
        if same:  # Neutron's duplicate check ignores the description: 409 "exists" = done
            s.id = same[0].id
            return
        self._quota_check(
            g.project_id, "security_group_rules", self._project_rules(g.project_id) + 1
        )
        r = ARule(self.state.new_id("rule"), gid, *wanted, None, spec.description)
        self.state.rules[r.id] = r
        s.id = r.id

    def _binding(self, s: Step, gids: dict[str | None, str]) -> None:
        self._call("update", "binding")
        c = s.change
        missing = [k for k in c.data["add"] if k not in gids]
        if missing:
            raise EngineError(_("安全组 {keys} 不存在").format(keys=", ".join(map(str, missing))))
        port = self._get(self.state.ports, c.data["port_id"], "port")
        port.group_ids = list(dict.fromkeys(c.data["keep"] + [gids[k] for k in c.data["add"]]))
        s.id = port.id

    def _delete(self, s: Step) -> None:
        c = s.change
        self._call("delete", c.kind)
        if c.kind == "rule":
            self.state.rules.pop(c.id or "", None)
        else:
            if any(c.id in x.group_ids for x in self.state.ports.values()):
                raise EngineError(_("安全组 {id} 仍在使用中").format(id=c.id))
            for r in self._group_rules(c.id or ""):
                del self.state.rules[r.id]
            self.state.groups.pop(c.id or "", None)
        s.id = c.id

    @staticmethod
    def _get(table: dict[str, Any], key: str | None, kind: str) -> Any:
        if key is None or key not in table:
            raise EngineError(_("{kind} {key} 不存在").format(kind=kind, key=key))
        return table[key]

    # ------------------------------------------------------------ fingerprints

    def record_fingerprints(
        self, fps: list[p.Fingerprint], applied: ApplyResult | None = None
    ) -> list[Step]:
        steps = fingerprint_steps(fps, applied)
        self._run(steps, self._write_fingerprint, stop_on_failure=False)
        return steps

    def _write_fingerprint(self, s: Step) -> None:
        self._call(s.change.action, "fingerprint")
        proj = self.state.projects.get(s.change.id or "")
        if proj is None:
            raise EngineError(_("项目 {id} 不存在").format(id=s.change.id))
        old = set(s.change.data["old"])
        proj.fingerprints = [f for f in proj.fingerprints if f not in old]
        new = s.change.data.get("new")
        if new and new not in proj.fingerprints:
            proj.fingerprints.append(new)

    # ------------------------------------------------------------ leases

    def acquire_lock(
        self, ttl: timedelta = DEFAULT_LOCK_TTL, owner: str | None = None, name: str = APPLY_LOCK
    ) -> None:
        self._call("create", "lock")
        now = datetime.now(UTC)
        with self.state.lock:
            held = self.state.leases.get(name)
            if held is not None and datetime.fromisoformat(held.expires) > now:
                raise LockHeld(
                    _("云 {cloud} 已被 {owner} 锁定（自 {since} 至 {until}）").format(
                        cloud=self.cloud, owner=held.owner, since=held.acquired, until=held.expires
                    )
                )
            self.state.leases[name] = LockHolder(
                self.state.new_id("lease"),
                owner or self.actor,
                now.isoformat(timespec="seconds"),
                (now + ttl).isoformat(timespec="seconds"),
            )
            self._held.add(name)

    def renew_lock(self, ttl: timedelta, name: str = APPLY_LOCK) -> None:
        self._call("update", "lock")
        with self.state.lock:
            held = self.state.leases.get(name)
            if name not in self._held:
                raise EngineError(_("未持有租约 {name}").format(name=name))
            if held is None:
                raise LockHeld(
                    _("云 {cloud}: 租约 {name} 已被他人删除").format(cloud=self.cloud, name=name)
                )
            held.expires = (datetime.now(UTC) + ttl).isoformat(timespec="seconds")

    def release_lock(self, name: str = APPLY_LOCK) -> None:
        self._call("delete", "lock")
        with self.state.lock:
            if name in self._held:
                self._held.discard(name)
                self.state.leases.pop(name, None)

    def lock_holder(self, name: str = APPLY_LOCK) -> LockHolder | None:
        self._call("read", "lock")
        with self.state.lock:
            held = self.state.leases.get(name)
            return copy.copy(held) if held else None

    # ------------------------------------------------------------ decommission

    def list_servers(self) -> list[Server]:
        self._call("read", "server")
        with self.state.lock:
            return [copy.deepcopy(x) for x in self.state.servers.values()]

    def read_inventory(
        self, actual: ActualState, systems: set[str], servers: list[Server] | None = None
    ) -> Inventory:
        inv = Inventory(projects=list(actual.projects), groups=list(actual.groups))
        managed = {x.id: x for x in actual.projects if p.is_managed(x.tags)}
        if not managed or "compute" not in actual.services:
            return inv
        everyone = servers if servers is not None else self.list_servers()
        inv.servers = [s for s in everyone if s.project_id in managed]
        wanted = {
            pid for pid, proj in managed.items() if p._tag_value(proj.tags, d.SYSTEM_TAG) in systems
        }
        wanted |= {s.project_id for s in inv.servers if SHUTDOWN_KEY in s.metadata}
        if not wanted:
            return inv
        self._call("read", "volume")
        self._call("read", "port")
        self._call("read", "floating_ip")
        with self.state.lock:
            inv.volumes = [
                copy.deepcopy(v) for v in self.state.volumes.values() if v.project_id in wanted
            ]
            inv.ports = [
                Port(
                    x.id,
                    x.project_id,
                    self.state.port_devices.get(x.id, ""),
                    list(x.ips),
                    list(x.tags),
                )
                for x in self.state.ports.values()
                if x.project_id in wanted
            ]
            inv.floating_ips = [
                copy.deepcopy(f) for f in self.state.floating_ips.values() if f.project_id in wanted
            ]
            for pid in sorted(wanted):
                inv.quotas[pid] = dict(self.state.quotas.get(pid, DEFAULT_QUOTAS))
        return inv

    def decommission(self, action: Action, now: datetime) -> None:
        fn = {
            "poweroff": self._poweroff,
            "repoweroff": self._repoweroff,
            "delete": self._delete_hosts,
            "reclaim": self._reclaim,
        }[action.verb]
        with self.state.lock:
            fn(action, now)

    def _dstep(self, a: Action, action: str, kind: str, name: str, rid: str | None) -> None:
        """One audited decommission step (raises the injected failure, if any)."""
        step = Step(p.Change(action, kind, a.system, name, [d.Reason(a.form)], a.message, id=rid))
        try:
            self._call(action, kind)
            step.status = "done"
        except EngineError as exc:
            step.status, step.error = "failed", str(exc)
            self.audit.write(step)
            raise
        self.audit.write(step)

    def _poweroff(self, a: Action, now: datetime) -> None:
        server = self._get(self.state.servers, a.data["server"].id, "server")
        if a.data.get("stop", True):
            self._dstep(a, "poweroff", "server", server.name, server.id)
            server.status = "SHUTOFF"
            self.state.changed_at[server.id] = now
        stamp = now.isoformat()
        meta = {SHUTDOWN_KEY: a.form, POWEROFF_KEY: stamp}
        tags = [f"{SHUTDOWN_KEY}={a.form}", f"{POWEROFF_KEY}={stamp}"]
        for v in a.data["volumes"]:
            self._dstep(a, "mark", "volume", v.name or v.id, v.id)
            self._get(self.state.volumes, v.id, "volume").metadata.update(meta)
        for x in a.data["ports"]:
            self._dstep(a, "mark", "port", x.id, x.id)
            port = self._get(self.state.ports, x.id, "port")
            port.tags = sorted(set(port.tags) | set(tags))
        for f in a.data["floating_ips"]:
            self._dstep(a, "mark", "floating_ip", f.ip, f.id)
            fip = self._get(self.state.floating_ips, f.id, "floating_ip")
            fip.tags = sorted(set(fip.tags) | set(tags))
        self._dstep(a, "mark", "server", server.name, server.id)
        server.metadata.update(meta)  # the server's own mark last: it starts the seven days

    def _repoweroff(self, a: Action, now: datetime) -> None:
        server = self._get(self.state.servers, a.data["server"].id, "server")
        self._dstep(a, "poweroff", "server", server.name, server.id)
        server.status = "SHUTOFF"
        self.state.changed_at[server.id] = now
        self._dstep(a, "mark", "server", server.name, server.id)
        server.metadata[POWERON_SEEN_KEY] = now.isoformat()

    def _delete_hosts(self, a: Action, now: datetime) -> None:
        for f in a.data["floating_ips"]:
            self._dstep(a, "delete", "floating_ip", f.ip, f.id)
            self.state.floating_ips.pop(f.id, None)
        server = a.data["server"]
        if server is not None:
            self._dstep(a, "delete", "server", server.name, server.id)
            self.state.servers.pop(server.id, None)
            for v in self.state.volumes.values():
                if server.id in v.server_ids:
                    v.server_ids.remove(server.id)
                    v.status = "available" if not v.server_ids else v.status
        for x in a.data["ports"]:
            self._dstep(a, "delete", "port", x.id, x.id)
            self.state.ports.pop(x.id, None)
            self.state.port_devices.pop(x.id, None)
        for v in a.data["volumes"]:
            have = self.state.volumes.get(v.id)
            if have is not None and have.server_ids:
                raise EngineError(_("云硬盘 {id} 仍挂载在云主机上").format(id=v.id))
            self._dstep(a, "delete", "volume", v.name or v.id, v.id)
            self.state.volumes.pop(v.id, None)

    def _reclaim(self, a: Action, now: datetime) -> None:
        proj = self._get(self.state.projects, a.data["project"].id, "project")
        group_ids = {g.id for g in a.data["groups"]}
        for port in self.state.ports.values():
            if port.project_id == proj.id and group_ids & set(port.group_ids):
                self._dstep(a, "update", "binding", port.id, port.id)
                port.group_ids = [g for g in port.group_ids if g not in group_ids]
        for g in a.data["groups"]:
            self._dstep(a, "delete", "group", g.name, g.id)
            for r in self._group_rules(g.id):
                del self.state.rules[r.id]
            self.state.groups.pop(g.id, None)
        self._dstep(a, "update", "quota", proj.name, proj.id)
        q = self.state.quotas.setdefault(proj.id, dict(DEFAULT_QUOTAS))
        for k in list(q):
            if not k.startswith(("security_group", "floating")):
                q[k] = 0
        q.update(
            floating_ips=0,
            security_groups=self._project_groups(proj.id),
            security_group_rules=self._project_rules(proj.id),
        )
        self._dstep(a, "update", "project", proj.name, proj.id)
        proj.tags = sorted({*proj.tags, d.DECOMMISSIONED_TAG + a.form})
        proj.fingerprints = []  # the project no longer holds the forms' rules

    # ------------------------------------------------------------ metrics

    def read_usage(self, actual: ActualState) -> Usage:
        self._call("read", "floating_ip")
        out = Usage()
        with self.state.lock:
            for f in self.state.floating_ips.values():
                out.floating_ips[f.project_id] = out.floating_ips.get(f.project_id, 0) + 1
            if "volume" in actual.services:
                self._call("read", "volume")
                for v in self.state.volumes.values():
                    out.add_volume(
                        VolumeUse(
                            v.id,
                            v.name,
                            v.project_id,
                            self.state.volume_tiers.get(v.id, ""),
                            v.size_gb,
                            list(v.server_ids),
                            self.state.attached_at.get(v.id) if v.server_ids else None,
                            self.state.changed_at.get(v.id),
                        )
                    )
            if "compute" in actual.services:
                self._call("read", "server")
                out.servers = [
                    ServerPower(
                        s.id,
                        s.name,
                        s.project_id,
                        s.status == "ACTIVE",
                        s.status,
                        self.state.changed_at.get(s.id),
                        s.metadata.get(SHUTDOWN_KEY, ""),
                    )
                    for s in self.state.servers.values()
                ]
        return out

    def dump(self) -> str:
        """The cloud as JSON (debugging a failed test)."""
        with self.state.lock:
            return json.dumps(
                {
                    k: [getattr(x, "__dict__", None) or _slots(x) for x in v.values()]
                    for k, v in (
                        ("projects", self.state.projects),
                        ("groups", self.state.groups),
                        ("rules", self.state.rules),
                        ("ports", self.state.ports),
                    )
                },
                ensure_ascii=False,
                indent=1,
                default=str,
            )


def _slots(x: Any) -> dict[str, Any]:
    return {k: getattr(x, k) for k in x.__slots__}


def _service_of(key: str) -> str:
    if key in ("instances", "cores", "ram_mb"):
        return "compute"
    if key.startswith("gigabytes"):
        return "volume"
    return "network"
