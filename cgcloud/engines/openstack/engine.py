"""The openstacksdk engine: read the actual state, apply a plan, lock a cloud, audit.

Why raw REST through openstacksdk's service proxies (``conn.network.get(...)``)
and not its resource layer: we want exact control of the request count (one
paginated list per resource type, never a GET per rule), Neutron's bulk rule
create, and one place for retries. openstacksdk still does the part users
expect: clouds by name (clouds.yaml, ``OS_CLOUD``, secure.yaml), auth, catalog,
microversions. Nothing here prints or logs a credential.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.actual import Inventory, Server
from cgcloud.engines.audit import AuditLog
from cgcloud.engines.base import (
    APPLY_LOCK,
    DEFAULT_LOCK_TTL,
    WATCH_LOCK,
    ApplyResult,
    EngineError,
    LockHeld,
    LockHolder,
    Progress,
    Step,
    Usage,
)
from cgcloud.engines.openstack import fingerprints, neutron
from cgcloud.engines.openstack.connection import Timeouts, connect
from cgcloud.engines.steps import change_steps, fingerprint_steps, untag_steps
from cgcloud.engines.steps import group_ids as known_group_ids
from cgcloud.engines.steps import project_ids as known_project_ids
from cgcloud.i18n import _
from cgcloud.redact import redact

if TYPE_CHECKING:
    from cgcloud.enforce import Action

TRANSIENT_STATUS = {429, 502, 503, 504}
PAGE_SIZE = 5000
SCOPE_CHUNK = 40  # project ids per scoped Neutron list (~1.8 kB of query string)
BULK_SIZE = 250
LOCK_NAME = APPLY_LOCK
LOCK_TAG = "cgcloud:lock"
WATCH_LOCK_NAME = WATCH_LOCK
QUOTA_SERVICE = {
    "instances": ("compute", "instances"),
    "cores": ("compute", "cores"),
    "ram_mb": ("compute", "ram"),
    "gigabytes": ("volume", "gigabytes"),
    "floating_ips": ("network", "floatingip"),
    "security_groups": ("network", "security_group"),
    "security_group_rules": ("network", "security_group_rule"),
}

PROXY_ATTR = {
    "identity": "identity",
    "network": "network",
    "compute": "compute",
    "volume": "block_storage",
}


class OpenStackEngine:
    """Reads ActualState and applies Plans against one named cloud (``Engine``)."""

    name = "openstack"
    quota_room = neutron.QUOTA_ROOM

    def __init__(
        self,
        cloud: str,
        *,
        conn: Any = None,
        concurrency: int = 4,
        retries: int = 4,
        backoff: float = 0.5,
        audit_path: Path | None = None,
        timeout: float | None = None,
    ):
        self.cloud = cloud
        self.conn = conn if conn is not None else connect(cloud, timeout)
        self.timeouts: Timeouts = getattr(self.conn, "cgcloud_timeouts", None) or Timeouts()
        self.concurrency = max(1, concurrency)
        self.retries = retries
        self.backoff = backoff
        self.bulk_size = BULK_SIZE  # 1 = one create per request (benchmarks compare)
        self._count_lock = threading.Lock()
        self.requests = 0
        self._wrap_session()
        self.actor = self._actor()
        self.audit = AuditLog(audit_path, cloud, self.actor)
        self.audit_path = audit_path
        self._lock_ids: dict[str, str] = {}

    # ---------------------------------------------------------------- plumbing

    def _wrap_session(self) -> None:
        session = self.conn.session
        original = session.request

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._count_lock:
                self.requests += 1
            return original(*args, **kwargs)

        session.request = counted

    def _actor(self) -> str:
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no passwd entry in a container
            user = "unknown"
        cloud_user = (self.conn.config.config.get("auth") or {}).get("username", "")
        who = f"{user}@{socket.gethostname()}"
        return f"{who} ({cloud_user})" if cloud_user else who

    def _proxy(self, service: str) -> Any:
        """The service's proxy (only that one: creating a proxy can mean a round trip)."""
        return getattr(self.conn, PROXY_ATTR[service])

    def call(
        self,
        service: str,
        method: str,
        url: str,
        ok: tuple[int, ...] = (),
        recover: Callable[[], Any] | None = None,
        retries: int | None = None,
        idempotent: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One API call with retries on transient failures; returns the JSON body (or None).

        Bounded in time: every HTTP request has the connect and read time-outs of
        `connection.Timeouts`, and no retry starts that could not end before
        ``timeouts.total`` (so a black-hole endpoint costs one or two read time-outs,
        never ``retries`` of them). Messages are redacted of credentials.

        ``idempotent``: a write that is safe to repeat (setting or removing one tag), so
        a 500 is retried like a read's.
        ``recover``: for a create that is not idempotent. After a connection failure the
        request may have been carried out with its answer lost; before trying again,
        ``recover()`` looks (returns the body the create would have returned, or None)."""
        from keystoneauth1 import exceptions as ks

        delay = self.backoff
        last = ""
        retries = self.retries if retries is None else retries
        t0 = time.monotonic()
        deadline = t0 + self.timeouts.total
        attempt = 0
        for attempt in range(retries + 1):  # noqa: B007 - reported after the loop
            try:
                # the proxy's first use authenticates and discovers versions: bounded too
                resp = self._proxy(service).request(url, method, raise_exc=False, **kwargs)
            except (
                ks.ConnectFailure,
                ks.ConnectTimeout,
                ks.RetriableConnectionFailure,
                ks.EndpointNotFound,
            ) as exc:
                last = self._unreachable(service, exc)
                if isinstance(exc, ks.EndpointNotFound | ks.ConnectTimeout):
                    # no answer within the read time-out: not retried (Timeouts)
                    raise EngineError(f"{method} {service} {url}: {last}") from None
                if recover is not None and attempt < retries and self._may_retry(deadline, delay):
                    time.sleep(delay)
                    try:
                        found = recover()
                    except EngineError:
                        found = None
                    if found is not None:
                        return found
            except ks.ClientException as exc:  # auth refused, catalog without the service …
                raise EngineError(
                    _("云 {cloud} 的 {service} 服务: {err}").format(
                        cloud=self.cloud,
                        service=service,
                        err=redact(f"{type(exc).__name__}: {_short(str(exc))}"),
                    )
                ) from None
            else:
                if resp.status_code < 400 or resp.status_code in ok:
                    if not resp.content:
                        return None
                    try:
                        return resp.json()
                    except ValueError:
                        return None
                last = redact(f"HTTP {resp.status_code}: {_short(resp.text)}")
                # a read is safe to repeat: a 500 on GET is retried too (e.g. two Neutron
                # workers racing to create a project's default group inside a list call)
                retriable = TRANSIENT_STATUS | ({500} if method == "GET" or idempotent else set())
                if resp.status_code not in retriable:
                    raise EngineError(f"{method} {service} {url}: {last}")
            if attempt >= retries or not self._may_retry(deadline, delay):
                break
            time.sleep(delay)
            delay *= 2
        raise EngineError(
            _("{method} {service} {url}: {last}（重试 {n} 次，共 {s:.1f} 秒后放弃）").format(
                method=method,
                service=service,
                url=url,
                last=last,
                n=attempt,
                s=time.monotonic() - t0,
            )
        )

    def _may_retry(self, deadline: float, delay: float) -> bool:
        """Would one more attempt (after ``delay``) still end before the call's deadline?"""
        return time.monotonic() + delay + self.timeouts.read <= deadline

    def _unreachable(self, service: str, exc: Exception) -> str:
        """A connection failure or time-out, in Chinese, naming the service and endpoint."""
        from keystoneauth1 import exceptions as ks

        text = str(exc)
        found = re.search(r"https?://[^\s?:/]+(?::\d+)?[^\s?:]*", text)
        endpoint = found.group(0) if found else "?"
        if isinstance(exc, ks.ConnectTimeout):
            return _(
                "云 {cloud} 的 {service} 服务（{endpoint}）在 {connect:g} 秒内未能连接或 "
                "{read:g} 秒内没有应答"
            ).format(
                cloud=self.cloud,
                service=service,
                endpoint=endpoint,
                connect=self.timeouts.connect,
                read=self.timeouts.read,
            )
        if isinstance(exc, ks.EndpointNotFound):
            return _("云 {cloud} 的服务目录中没有 {service} 服务的端点").format(
                cloud=self.cloud, service=service
            )
        return _("无法连接云 {cloud} 的 {service} 服务（{endpoint}）: {err}").format(
            cloud=self.cloud,
            service=service,
            endpoint=endpoint,
            err=redact(f"{type(exc).__name__}: {_short(text)}"),
        )

    def _pages(
        self, resource: str, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """A Neutron list, page by page (limit/marker, following the `next` link)."""
        q: dict[str, Any] = {"limit": PAGE_SIZE, **(params or {})}
        while True:
            body = self.call("network", "GET", f"/{resource}", params=q)
            items = body.get(resource.replace("-", "_"), [])
            yield from items
            links = body.get(resource.replace("-", "_") + "_links") or []
            if not items or not any(link.get("rel") == "next" for link in links):
                return
            q = {**q, "marker": items[-1]["id"]}

    def read_placeholder_ports(self, names: list[str]) -> list[p.APort]:
        """The ports tagged with any of these placeholders (``tags-any``, a few names per
        request): what enforce needs to know whether a placeholder's resolution changed."""
        out: list[p.APort] = []
        for i in range(0, len(names), SCOPE_CHUNK):
            tags = ",".join(d.PLACEHOLDER_TAG + n for n in names[i : i + SCOPE_CHUNK])
            for x in self._pages(
                "ports", {"tags-any": tags, "fields": ["id", "project_id", "fixed_ips", "tags"]}
            ):
                out.append(
                    p.APort(
                        x["id"],
                        x.get("project_id", ""),
                        [ip["ip_address"] for ip in x.get("fixed_ips") or []],
                        tags=list(x.get("tags") or []),
                    )
                )
        return out

    def _scoped_pages(
        self, resource: str, scoped: bool, project_ids: list[str], params: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """All of a Neutron list, or only the given projects' (a few ids per request,
        so the query string stays short); nothing for a scope of no project."""
        if not scoped:
            yield from self._pages(resource, params)
            return
        for i in range(0, len(project_ids), SCOPE_CHUNK):
            yield from self._pages(
                resource, {**params, "project_id": project_ids[i : i + SCOPE_CHUNK]}
            )

    def _map(
        self,
        fn: Callable[[Step], None],
        steps: list[Step],
        progress: Progress | None,
        phase: str,
        stop: threading.Event,
    ) -> None:
        """Run steps with bounded concurrency; after a hard failure start nothing new."""
        if not steps:
            return
        done = 0
        lock = threading.Lock()

        def run(step: Step) -> None:
            nonlocal done
            if not self._run_step(fn, step, stop):
                return
            with lock:
                done += 1
                if progress:
                    progress(phase, done, len(steps))

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(run, steps))

    # ---------------------------------------------------------------- read

    def authenticate(self) -> None:
        """Get a token now (bounded, one clear error): the catalog lookups of `services`
        would otherwise turn an unreachable Keystone into "no such service"."""
        from keystoneauth1 import exceptions as ks

        try:
            self.conn.session.get_token()
        except (ks.ConnectFailure, ks.ConnectTimeout, ks.RetriableConnectionFailure) as exc:
            raise EngineError(self._unreachable("identity", exc)) from None
        except ks.ClientException as exc:
            raise EngineError(
                _("云 {cloud} 的 identity 服务: {err}").format(
                    cloud=self.cloud, err=redact(f"{type(exc).__name__}: {_short(str(exc))}")
                )
            ) from None

    def services(self) -> list[str]:
        self.authenticate()
        out = []
        for name, kind in (
            ("compute", "compute"),
            ("volume", "block-storage"),
            ("network", "network"),
        ):
            try:
                if self.conn.has_service(kind):
                    out.append(name)
            except Exception:  # noqa: BLE001 - catalog lookups raise many kinds
                continue
        return out

    def read_projects(self) -> list[p.AProject]:
        """Every project but the lock leases (one Keystone list, with tags)."""
        body = self.call("identity", "GET", "/projects")
        return [
            p.AProject(
                x["id"],
                x["name"],
                fingerprints.other_tags(x.get("tags") or []),
                x.get("description") or "",
                x.get("domain_id", ""),
                fingerprints.recorded(x.get("tags") or []),
            )
            for x in body.get("projects", [])
            if LOCK_TAG not in (x.get("tags") or [])
        ]

    def read(
        self,
        state: d.DesiredState | None = None,
        *,
        network_only: bool = False,
        projects: list[p.AProject] | None = None,
        scope: set[str] | None = None,
    ) -> p.ActualState:
        """Actual state: one paginated list per resource type, plus quotas per managed project.

        Rules come embedded in the group list (``fields=security_group_rules``): Neutron
        builds them from the group it has already loaded, ~1 ms per rule cheaper than its
        rule list API (benchmarks/README.md). Nova and Cinder quotas have no list API: their
        per-project GETs run on other services, concurrently with the Neutron lists.
        ``network_only``: Neutron's state and quotas only, no Nova/Cinder quotas, flavors or
        volume types (enforce acts on rules and groups; what it leaves out is apply's).
        ``projects``: the project list when the caller read it already. ``scope``: read
        Neutron's groups, rules, ports and quotas of these systems' projects only (the
        result says so in ``ActualState.scope``; enforce leaves settled systems out)."""
        start = self.requests
        services = self.services()
        a = p.ActualState(services=services, scope=scope)
        a.projects = list(projects) if projects is not None else self.read_projects()
        systems = {x.system for x in state.projects} if state else set()
        wanted = [
            proj.id
            for proj in a.projects
            if p.is_managed(proj.tags)
            and (state is None or p._tag_value(proj.tags, d.SYSTEM_TAG) in systems)
            and a.covers(p._tag_value(proj.tags, d.SYSTEM_TAG) or "")
        ]
        per_project: list[str] = (
            [] if network_only else [s for s in ("compute", "volume") if s in services]
        )
        with ThreadPoolExecutor(1) as background:
            pending = background.submit(self.read_all_quotas, wanted, per_project)
            try:
                self._read_network(a, wanted)
            finally:
                per_project_quotas = pending.result()
        for pid, values in per_project_quotas.items():
            a.quotas.setdefault(pid, {}).update(values)
        if "compute" in services and not network_only:
            body = self.call(
                "compute",
                "GET",
                "/flavors/detail",
                params={"is_public": "None"},
                microversion="2.55",
            )
            for x in body.get("flavors", []):
                a.flavors.append(
                    p.AFlavor(
                        x["id"],
                        x["name"],
                        int(x["vcpus"]),
                        int(x["ram"]),
                        int(x["disk"]),
                        x.get("description") or "",
                    )
                )
        if "volume" in services and not network_only:
            body = self.call("volume", "GET", "/types")
            a.volume_types = [t["name"] for t in body.get("volume_types", [])]
        a.requests = self.requests - start
        return a

    def _read_network(self, a: p.ActualState, project_ids: list[str]) -> None:
        """Groups with their rules, ports, and the Neutron quotas of ``project_ids``
        (groups and ports of every project, or of ``project_ids`` only when the read
        is scoped)."""
        owned = p.managed_projects_by_id(a.projects)
        for x in self._scoped_pages(
            "security-groups",
            a.scope is not None,
            project_ids,
            {"fields": ["id", "name", "project_id", "tags", "description", "security_group_rules"]},
        ):
            g = p.AGroup(
                x["id"],
                x.get("name", ""),
                x.get("project_id", ""),
                list(x.get("tags") or []),
                x.get("description") or "",
            )
            a.groups.append(g)
            # rules of unmanaged groups are never changed: kept apart, for reports
            into = a.rules if p.group_identity(g, owned) is not None else a.foreign_rules
            into.extend(neutron.rule(r, g.id) for r in x.get("security_group_rules") or [])
        for x in self._scoped_pages(
            "ports",
            a.scope is not None,
            project_ids,
            {
                "fields": [
                    "id",
                    "project_id",
                    "fixed_ips",
                    "security_groups",
                    "tags",
                    "device_owner",
                    "name",
                ]
            },
        ):
            a.ports.append(
                p.APort(
                    x["id"],
                    x.get("project_id", ""),
                    [ip["ip_address"] for ip in x.get("fixed_ips") or []],
                    list(x.get("security_groups") or []),
                    list(x.get("tags") or []),
                    neutron.is_infrastructure(x.get("device_owner")),
                    x.get("name") or "",
                )
            )
        if "network" in a.services:
            for pid, values in self.read_all_quotas(project_ids, ["network"]).items():
                a.quotas.setdefault(pid, {}).update(values)

    def read_all_quotas(
        self, project_ids: list[str], services: list[str]
    ) -> dict[str, dict[str, int]]:
        """Quotas of many projects: Neutron's in one list call (projects absent from it
        have the defaults: one more GET); Nova and Cinder have no list API, so one GET
        each per project, run with bounded concurrency."""
        out: dict[str, dict[str, int]] = {pid: {} for pid in project_ids}
        if not project_ids:
            return out
        if "network" in services:
            listed = {
                q.get("project_id") or q.get("tenant_id"): q
                for q in self.call("network", "GET", "/quotas").get("quotas", [])
            }
            default = None
            for pid in project_ids:
                q = listed.get(pid)
                if q is None:
                    if default is None:
                        default = self.call("network", "GET", f"/quotas/{pid}/default")["quota"]
                    q = default
                out[pid].update(_neutron_quota(q))
        per_project: list[str] = [s for s in ("compute", "volume") if s in services]
        if per_project:
            with ThreadPoolExecutor(self.concurrency) as pool:
                for pid, values in pool.map(
                    lambda pid: (pid, self.read_quotas(pid, per_project)), project_ids
                ):
                    out[pid].update(values)
        return out

    def read_quotas(self, project_id: str, services: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        if "compute" in services:
            q = self.call("compute", "GET", f"/os-quota-sets/{project_id}")["quota_set"]
            out.update(instances=q["instances"], cores=q["cores"], ram_mb=q["ram"])
        if "volume" in services:
            q = self.call("volume", "GET", f"/os-quota-sets/{project_id}")["quota_set"]
            out.update({k: v for k, v in q.items() if k.startswith("gigabytes")})
        if "network" in services:
            out.update(
                _neutron_quota(self.call("network", "GET", f"/quotas/{project_id}")["quota"])
            )
        return out

    # ---------------------------------------------------------------- apply

    def apply(
        self,
        state: d.DesiredState,
        plan: p.Plan,
        actual: p.ActualState,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> ApplyResult:
        """Apply in dependency order; on a hard failure stop and say what was not done.

        Order: projects → quotas → flavors → groups (Neutron's default rules in a
        new group removed) → rule deletes → rule creates (bulk) → port bindings →
        group deletes. Every step is idempotent, so a re-run converges. ``state``
        is not needed: this engine carries out the plan's steps.
        ``stop``: set from outside (Ctrl-C, SIGTERM) it ends the apply like a failure
        does: steps in flight finish, nothing new starts, the rest is "not-done".
        """
        t0, r0 = time.monotonic(), self.requests
        result = ApplyResult()
        stop = stop if stop is not None else threading.Event()
        steps = change_steps(plan)
        untag = untag_steps(plan)
        result.steps, result.untagged = steps, untag
        self._one_by_one(self._write_fingerprint, untag, stop)
        project_ids = known_project_ids(actual)
        group_ids = known_group_ids(actual, plan)

        def phase(kind: str, action: str) -> list[Step]:
            return [s for s in steps if s.change.kind == kind and s.change.action == action]

        desired_rule_descs = {
            s.change.data["rule"].description
            for s in steps
            if s.change.kind == "rule" and s.change.action == "create"
        }
        self._map(
            partial(self._project_step, project_ids=project_ids),
            phase("project", "create") + phase("project", "update"),
            progress,
            "projects",
            stop,
        )
        quotas = phase("quota", "update")
        self._map(
            partial(self._quota_step, project_ids=project_ids, lower=False),
            quotas,
            progress,
            "quotas",
            stop,
        )
        self._map(self._flavor_step, phase("flavor", "create"), progress, "flavors", stop)
        if not stop.is_set():
            self._create_groups(
                phase("group", "create"), project_ids, group_ids, desired_rule_descs, progress, stop
            )
        self._map(self._delete_step, phase("rule", "delete"), progress, "rule deletes", stop)
        if not stop.is_set():
            self._create_rules(phase("rule", "create"), group_ids, project_ids, progress, stop)
        self._map(
            partial(self._binding_step, group_ids=group_ids),
            phase("binding", "update"),
            progress,
            "bindings",
            stop,
        )
        self._map(self._delete_step, phase("group", "delete"), progress, "group deletes", stop)
        lowering = [s for s in quotas if s.status == "done"]
        self._map(
            partial(self._quota_step, project_ids=project_ids, lower=True),
            lowering,
            progress,
            "quotas (lowered)",
            stop,
        )
        result.requests = self.requests - r0
        result.seconds = time.monotonic() - t0
        return result

    def _project_step(self, s: Step, project_ids: dict[str | None, str]) -> None:
        c = s.change
        if c.action == "create":
            body = self.call(
                "identity",
                "POST",
                "/projects",
                json={
                    "project": {
                        "name": c.data["name"],
                        "description": c.data["description"],
                        "tags": c.data["tags"],
                        "domain_id": "default",
                        "enabled": True,
                    }
                },
            )
            s.id = body["project"]["id"]
            project_ids[c.system] = body["project"]["id"]
        else:
            self.call(
                "identity",
                "PATCH",
                f"/projects/{c.id}",
                json={
                    "project": {
                        "description": c.data["description"],
                        # Keystone replaces the tag list: the fingerprint still true stays
                        "tags": c.data["tags"]
                        + [fingerprints.tag(f) for f in c.data["fingerprints"]],
                    }
                },
            )

    def _quota_step(self, s: Step, project_ids: dict[str | None, str], lower: bool) -> None:
        """Raise before creating, lower after deleting: Neutron refuses a quota
        below current usage."""
        before = s.change.before or {}
        if lower:
            values = {k: v for k, v in s.change.data["set"].items() if v < (before.get(k) or 0)}
            if not values:
                return
        else:
            values = {k: max(v, before.get(k) or 0) for k, v in s.change.data["set"].items()}
        pid = project_ids.get(s.change.system)
        if pid is None:
            raise EngineError(f"project of {s.change.system} does not exist")
        s.id = pid
        by_service: dict[str, dict[str, int]] = {}
        for key, value in values.items():
            service, name = QUOTA_SERVICE.get(key, ("volume", key))
            by_service.setdefault(service, {})[name] = value
        for service, chunk in by_service.items():
            if service == "network":
                self.call("network", "PUT", f"/quotas/{pid}", json={"quota": chunk})
            else:
                self.call(service, "PUT", f"/os-quota-sets/{pid}", json={"quota_set": chunk})

    def _flavor_step(self, s: Step) -> None:
        c = s.change
        body = self.call(
            "compute",
            "POST",
            "/flavors",
            microversion="2.55",
            json={
                "flavor": {
                    "name": c.data["name"],
                    "vcpus": c.data["vcpus"],
                    "ram": c.data["ram_mb"],
                    "disk": c.data["disk_gb"],
                    "description": "cgcloud: " + "、".join(sorted({r.form for r in c.reasons})),
                }
            },
        )
        s.id = body["flavor"]["id"]

    def _delete_step(self, s: Step) -> None:
        resource = "security-group-rules" if s.change.kind == "rule" else "security-groups"
        self.call("network", "DELETE", f"/{resource}/{s.change.id}", ok=(404,))
        s.id = s.change.id

    def _binding_step(self, s: Step, group_ids: dict[str | None, str]) -> None:
        c = s.change
        missing = [k for k in c.data["add"] if k not in group_ids]
        if missing:
            raise EngineError(f"groups {missing} do not exist")
        groups = list(dict.fromkeys(c.data["keep"] + [group_ids[k] for k in c.data["add"]]))
        self.call(
            "network",
            "PUT",
            f"/ports/{c.data['port_id']}",
            json={"port": {"security_groups": groups}},
        )
        s.id = c.data["port_id"]

    def _create_groups(
        self,
        steps: list[Step],
        project_ids: dict[str | None, str],
        group_ids: dict[str | None, str],
        desired_rule_descs: set[str],
        progress: Progress | None,
        stop: threading.Event,
    ) -> None:
        """Neutron bulk create (BULK_SIZE per request, one transaction each). The group's
        identity (`desired.group_description`'s key marker) is written by this one call:
        no second tagging call that could fail and leave an unrecognisable group.
        Neutron's default rules in a new group (if the cloud adds any) are removed."""
        done = 0
        for i in range(0, len(steps), self.bulk_size):
            if stop.is_set():
                return
            chunk = steps[i : i + self.bulk_size]
            bodies = []
            for s in chunk:
                pid = project_ids.get(s.change.system)
                if pid is None:
                    s.status, s.error = "failed", f"project of {s.change.system} does not exist"
                    stop.set()
                    self.audit.write(s)
                    return
                bodies.append(
                    {
                        "name": s.change.data["name"],
                        "project_id": pid,
                        "description": s.change.data["description"][: neutron.DESCRIPTION_LIMIT],
                    }
                )

            def recover(bodies: list[dict[str, Any]] = bodies) -> Any:
                """Did the lost bulk happen? (one transaction: all of it or nothing)"""
                pids = sorted({b["project_id"] for b in bodies})
                have = {
                    (g["project_id"], g.get("description")): g
                    for g in self.call(
                        "network", "GET", "/security-groups", params={"project_id": pids}, retries=0
                    )["security_groups"]
                }
                made = [have.get((b["project_id"], b["description"])) for b in bodies]
                if all(made):
                    return {"security_groups": made}
                return None

            try:
                body = self.call(
                    "network",
                    "POST",
                    "/security-groups",
                    recover=recover,
                    json={"security_groups": bodies},
                )
            except EngineError as exc:
                for s in chunk:
                    s.status, s.error = "failed", str(exc)
                    self.audit.write(s)
                stop.set()
                return
            for s, sg in zip(chunk, body["security_groups"], strict=True):
                s.status, s.id = "done", sg["id"]
                group_ids[s.change.data["key"]] = sg["id"]
                self.audit.write(s)
            defaults = [
                r["id"]
                for sg in body["security_groups"]
                for r in sg.get("security_group_rules") or []
                if r.get("description") not in desired_rule_descs
            ]
            try:
                with ThreadPoolExecutor(self.concurrency) as pool:
                    list(
                        pool.map(
                            lambda rid: self.call(
                                "network", "DELETE", f"/security-group-rules/{rid}", ok=(404,)
                            ),
                            defaults,
                        )
                    )
            except EngineError:
                stop.set()  # the groups exist; the next plan shows these rules as drift
                raise
            done += len(chunk)
            if progress:
                progress("groups", done, len(steps))

    def _create_rules(
        self,
        steps: list[Step],
        group_ids: dict[str | None, str],
        project_ids: dict[str | None, str],
        progress: Progress | None,
        stop: threading.Event,
    ) -> None:
        """Neutron bulk create: one request per group (Neutron refuses a bulk that spans
        groups: SecurityGroupNotSingleGroupRules), BULK_SIZE rules at most, requests run
        with bounded concurrency. A failing bulk is retried rule by rule so the report
        says exactly which rule failed (409 "exists" counts as done)."""
        by_group: dict[str, list[Step]] = {}
        for s in steps:
            by_group.setdefault(s.change.data["rule"].group_key, []).append(s)
        batches = [
            ss[i : i + self.bulk_size]
            for ss in by_group.values()
            for i in range(0, len(ss), self.bulk_size)
        ]
        done = 0
        lock = threading.Lock()

        def run(chunk: list[Step]) -> None:
            nonlocal done
            if stop.is_set():
                return
            gid = group_ids.get(chunk[0].change.data["rule"].group_key)
            if gid is None:
                for s in chunk:
                    s.status, s.error = "failed", "its security group does not exist"
                    self.audit.write(s)
                stop.set()
                return
            bodies = [
                neutron.rule_body(s.change.data["rule"], gid, project_ids.get(s.change.system))
                for s in chunk
            ]
            try:
                body = self.call(
                    "network",
                    "POST",
                    "/security-group-rules",
                    json={"security_group_rules": bodies},
                )
                for s, made in zip(chunk, body["security_group_rules"], strict=True):
                    s.status, s.id = "done", made["id"]
                    self.audit.write(s)
            except EngineError:
                for s, one in zip(chunk, bodies, strict=True):
                    if stop.is_set():
                        break
                    try:
                        made = self.call(
                            "network",
                            "POST",
                            "/security-group-rules",
                            json={"security_group_rule": one},
                            ok=(409,),
                        )
                        if "security_group_rule" not in (made or {}):
                            # 409 is both "exists" (done) and OverQuota (not done)
                            err = json.dumps(made, ensure_ascii=False)
                            if "SecurityGroupRuleExists" not in err:
                                raise EngineError(
                                    f"POST network /security-group-rules: HTTP 409: {_short(err)}"
                                )
                        s.status = "done"
                        s.id = (made or {}).get("security_group_rule", {}).get("id")
                    except EngineError as exc:
                        s.status, s.error = "failed", str(exc)
                        stop.set()
                    self.audit.write(s)
            with lock:
                done += len(chunk)
                if progress:
                    progress("rules", done, len(steps))

        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(run, batches))

    def record_fingerprints(
        self, fps: list[p.Fingerprint], applied: ApplyResult | None = None
    ) -> list[Step]:
        """Tag each project with its rule fingerprint; call only once the plan that
        listed ``fps`` was carried out in full (``applied``, when it changed anything:
        the ids of the projects it created). docs/enforce.md, "Settled projects".

        The old tag goes first: a failure in between leaves no tag, and a project
        without one is read in full by the next enforce pass."""
        steps = fingerprint_steps(fps, applied)
        # each on its own: a tag that could not be written only costs later passes a read
        self._one_by_one(self._write_fingerprint, steps, None)
        return steps

    def _write_fingerprint(self, s: Step) -> None:
        """Remove the tags of the step's ``old`` fingerprints, then add its ``new`` one."""
        url = f"/projects/{s.change.id}/tags/"
        for old in s.change.data["old"]:
            tag = quote(fingerprints.tag(old), safe=":=")
            self.call("identity", "DELETE", url + tag, ok=(404,), idempotent=True)
        if s.change.data.get("new"):
            tag = quote(fingerprints.tag(s.change.data["new"]), safe=":=")
            self.call("identity", "PUT", url + tag, idempotent=True)

    def _one_by_one(
        self, fn: Callable[[Step], None], steps: list[Step], stop: threading.Event | None
    ) -> None:
        """Keystone tag writes, one at a time: a Keystone on SQLite answers concurrent
        ones with 500 "database is locked" (measured on the devcloud). With ``stop``, a
        failure stops what follows (and sets it); without, each step stands alone."""
        for s in steps:
            if not self._run_step(fn, s, stop):
                return

    def _run_step(
        self, fn: Callable[[Step], None], step: Step, stop: threading.Event | None
    ) -> bool:
        """Run one step, note its outcome, audit it; False when ``stop`` kept it from
        starting. A failure sets ``stop``: nothing new starts after it."""
        if stop is not None and stop.is_set():
            return False
        try:
            fn(step)
            step.status = "done"
        except EngineError as exc:
            step.status, step.error = "failed", str(exc)
            if stop is not None:
                stop.set()
        self.audit.write(step)
        return True

    # ---------------------------------------------------------------- lock

    def acquire_lock(
        self, ttl: timedelta = DEFAULT_LOCK_TTL, owner: str | None = None, name: str = LOCK_NAME
    ) -> None:
        """A lease as a disabled Keystone project named cgcloud-lock: names are unique per
        domain, so creating it is atomic for every machine that talks to this cloud.
        ``name`` picks another lease of the same kind (``enforce --watch`` holds
        WATCH_LOCK_NAME for its whole life)."""
        owner = owner or f"{self.actor} pid {os.getpid()}"
        now = datetime.now(UTC)
        info = {
            "owner": owner,
            "acquired": now.isoformat(timespec="seconds"),
            "expires": (now + ttl).isoformat(timespec="seconds"),
        }
        for _attempt in range(2):
            body = self.call(
                "identity",
                "POST",
                "/projects",
                ok=(409,),
                json={
                    "project": {
                        "name": name,
                        "description": json.dumps(info, ensure_ascii=False),
                        "tags": [LOCK_TAG],
                        "enabled": False,
                        "domain_id": "default",
                    }
                },
            )
            if body and "project" in body:
                self._lock_ids[name] = body["project"]["id"]
                return
            held = self.lock_holder(name)
            if held is None:
                continue  # released meanwhile: try again
            pid = held.id
            if datetime.fromisoformat(held.expires) > now:
                raise LockHeld(
                    f"cloud {self.cloud} is locked by {held.owner} since "
                    f"{held.acquired} until {held.expires}; "
                    f"wait, or if that apply is dead delete Keystone project {name} ({pid})"
                )
            # expired: delete exactly that lease (by id) and try once more
            self.call("identity", "DELETE", f"/projects/{pid}", ok=(404,))
        raise LockHeld(f"cloud {self.cloud}: could not take the lock (another apply took it)")

    def lock_holder(self, name: str = LOCK_NAME) -> LockHolder | None:
        body = self.call("identity", "GET", "/projects", params={"name": name})
        for x in body.get("projects", []):
            try:
                info = json.loads(x.get("description") or "{}")
            except ValueError:
                info = {}
            if not isinstance(info, dict):
                info = {}
            return LockHolder(
                x["id"], **{k: str(info[k]) for k in ("owner", "acquired", "expires") if k in info}
            )
        return None

    def release_lock(self, name: str = LOCK_NAME) -> None:
        lock_id = self._lock_ids.pop(name, None)
        if lock_id is not None:
            self.call("identity", "DELETE", f"/projects/{lock_id}", ok=(404,))

    def renew_lock(self, ttl: timedelta, name: str = LOCK_NAME) -> None:
        """Push a held lease's expiry forward (a long-lived loop renews it every pass)."""
        lock_id = self._lock_ids.get(name)
        if lock_id is None:
            raise EngineError(f"lease {name} is not held")
        body = self.call("identity", "GET", f"/projects/{lock_id}", ok=(404,))
        if not body or "project" not in body:
            self._lock_ids.pop(name, None)
            raise LockHeld(f"cloud {self.cloud}: lease {name} was removed by someone else")
        info = json.loads(body["project"].get("description") or "{}")
        info["expires"] = (datetime.now(UTC) + ttl).isoformat(timespec="seconds")
        self.call(
            "identity",
            "PATCH",
            f"/projects/{lock_id}",
            json={"project": {"description": json.dumps(info, ensure_ascii=False)}},
        )

    # ---------------------------------------------------------------- decommission, usage

    def list_servers(self) -> list[Server]:
        from cgcloud.engines.openstack import decommission

        return decommission.list_servers(self)

    def read_inventory(
        self, actual: p.ActualState, systems: set[str], servers: list[Server] | None = None
    ) -> Inventory:
        from cgcloud.engines.openstack import decommission

        return decommission.read_inventory(self, actual, systems, servers)

    def decommission(self, action: Action, now: datetime) -> None:
        from cgcloud.engines.openstack import decommission

        decommission.Decommissioner(self).run(action, now)

    def read_usage(self, actual: p.ActualState) -> Usage:
        from cgcloud.engines.openstack import usage

        return usage.read_usage(self, actual)


def _neutron_quota(q: dict[str, Any]) -> dict[str, int]:
    return {
        "floating_ips": q["floatingip"],
        "security_groups": q["security_group"],
        "security_group_rules": q["security_group_rule"],
    }


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
