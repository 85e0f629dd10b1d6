"""The OpenStack engine's decommission pieces: read servers/volumes, power off, delete.

Built on ``api.Api`` (``call`` with retries, request counting) and the engine's
audit log; what is due is decided by ``cgcloud.enforce`` (pure). Marks are
written on the resources themselves — Nova server metadata, Cinder volume
metadata, Neutron tags on ports and floating IPs — so no local state is needed
to know when a host was powered off (Cloud Custodian's mark-for-op).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from cgcloud import desired as d
from cgcloud import enforce as e
from cgcloud import plan as p
from cgcloud.actual import FloatingIP, Inventory, Port, Server, Volume
from cgcloud.engines.audit import AuditLog
from cgcloud.engines.base import EngineError, Step
from cgcloud.engines.openstack.api import Api
from cgcloud.engines.openstack.reads import read_quotas
from cgcloud.i18n import _

NOVA_MICROVERSION = "2.47"  # servers carry their flavor's vcpus/ram/disk
WAIT_SECONDS = 120.0
NETWORK_QUOTAS = (
    "floatingip",
    "port",
    "security_group",
    "security_group_rule",
    "network",
    "subnet",
    "router",
)


def list_servers(api: Api) -> list[Server]:
    """Every server of every project (one paginated Nova list)."""
    out: list[Server] = []
    q: dict[str, Any] = {"all_tenants": 1, "limit": 1000}
    while True:
        body = api.call(
            "compute", "GET", "/servers/detail", params=q, microversion=NOVA_MICROVERSION
        )
        items = body.get("servers", [])
        out.extend(_server(x) for x in items)
        if len(items) < q["limit"]:
            return out
        q = {**q, "marker": items[-1]["id"]}


def read_inventory(
    api: Api,
    actual: p.ActualState,
    systems: set[str],
    servers: list[Server] | None = None,
) -> Inventory:
    """Servers of every managed project (one paginated list, to find marks anywhere);
    volumes, ports and floating IPs only of the projects of ``systems`` and of
    projects holding marked servers (a fixed number of list calls). ``servers``: the
    list_servers() result when the caller fetched it already (concurrently)."""
    inv = Inventory(projects=list(actual.projects), groups=list(actual.groups))
    managed = {x.id: x for x in actual.projects if p.is_managed(x.tags)}
    if not managed or "compute" not in actual.services:
        return inv
    everyone = servers if servers is not None else list_servers(api)
    inv.servers = [s for s in everyone if s.project_id in managed]
    wanted = {
        pid for pid, proj in managed.items() if p._tag_value(proj.tags, d.SYSTEM_TAG) in systems
    }
    wanted |= {s.project_id for s in inv.servers if e.SHUTDOWN_KEY in s.metadata}
    if not wanted:
        return inv
    if "volume" in actual.services:
        vq: dict[str, Any] = {"all_tenants": 1, "limit": 1000}
        while True:
            body = api.call("volume", "GET", "/volumes/detail", params=vq)
            items = body.get("volumes", [])
            for v in items:
                pid = v.get("os-vol-tenant-attr:tenant_id", "")
                if pid in wanted:
                    inv.volumes.append(
                        Volume(
                            v["id"],
                            v.get("name") or "",
                            pid,
                            int(v.get("size") or 0),
                            v.get("status", ""),
                            [a["server_id"] for a in v.get("attachments") or []],
                            dict(v.get("metadata") or {}),
                        )
                    )
            if len(items) < vq["limit"]:
                break
            vq = {**vq, "marker": items[-1]["id"]}
    ids = sorted(wanted)
    for x in api.pages(
        "ports",
        {"project_id": ids, "fields": ["id", "project_id", "device_id", "fixed_ips", "tags"]},
    ):
        inv.ports.append(
            Port(
                x["id"],
                x.get("project_id", ""),
                x.get("device_id") or "",
                [ip["ip_address"] for ip in x.get("fixed_ips") or []],
                list(x.get("tags") or []),
            )
        )
    body = api.call("network", "GET", "/floatingips", params={"project_id": ids})
    for f in body.get("floatingips", []):
        inv.floating_ips.append(
            FloatingIP(
                f["id"],
                f.get("floating_ip_address", ""),
                f.get("port_id"),
                f.get("project_id", ""),
                list(f.get("tags") or []),
            )
        )
    for pid in ids:
        inv.quotas[pid] = read_quotas(api, pid, actual.services)
    return inv


def _server(x: dict[str, Any]) -> Server:
    ips = [
        a["addr"]
        for net in (x.get("addresses") or {}).values()
        for a in net
        if a.get("OS-EXT-IPS:type", "fixed") == "fixed" and a.get("version", 4) == 4
    ]
    fl = x.get("flavor") or {}
    return Server(
        x["id"],
        x.get("name", ""),
        x.get("tenant_id", ""),
        x.get("status", ""),
        ips,
        dict(x.get("metadata") or {}),
        int(fl.get("vcpus") or 0),
        int(fl.get("ram") or 0),
        int(fl.get("disk") or 0),
        str(fl.get("original_name") or ""),
        x.get("OS-EXT-STS:task_state"),
    )


class Decommissioner:
    """Carries out decommission Actions; every API step goes to the audit log."""

    def __init__(self, api: Api, audit: AuditLog, wait_seconds: float = WAIT_SECONDS):
        self.api = api
        self.audit = audit
        self.wait_seconds = wait_seconds

    # ------------------------------------------------------------ plumbing

    def _step(
        self, a: e.Action, action: str, kind: str, name: str, rid: str | None, fn: Any
    ) -> None:
        step = Step(p.Change(action, kind, a.system, name, [d.Reason(a.form)], a.message, id=rid))
        try:
            fn()
            step.status = "done"
        except EngineError as exc:
            step.status, step.error = "failed", str(exc)
            self.audit.write(step)
            raise
        self.audit.write(step)

    def _wait(self, what: str, probe: Any) -> None:
        deadline = time.monotonic() + self.wait_seconds
        delay = 0.3
        while not probe():
            if time.monotonic() > deadline:
                raise EngineError(
                    _("等待 {what} 超时（{s:.0f} 秒）").format(what=what, s=self.wait_seconds)
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)

    def run(self, a: e.Action, now: datetime) -> None:
        {
            "poweroff": self.poweroff,
            "repoweroff": self.repoweroff,
            "delete": self.delete,
            "reclaim": self.reclaim,
        }[a.verb](a, now)

    # ------------------------------------------------------------ steps

    def _stop(self, a: e.Action, server: Server) -> None:
        self._step(
            a,
            "poweroff",
            "server",
            server.name,
            server.id,
            lambda: self.api.call(
                "compute", "POST", f"/servers/{server.id}/action", json={"os-stop": None}, ok=(409,)
            ),
        )

    def poweroff(self, a: e.Action, now: datetime) -> None:
        """Stop first, then record: a failed record only makes the clock start later."""
        server: Server = a.data["server"]
        if a.data.get("stop", True):
            self._stop(a, server)
        stamp = now.isoformat()
        meta = {e.SHUTDOWN_KEY: a.form, e.POWEROFF_KEY: stamp}
        call = self.api.call
        for v in a.data["volumes"]:
            self._step(
                a,
                "mark",
                "volume",
                v.name or v.id,
                v.id,
                lambda v=v: call(
                    "volume", "POST", f"/volumes/{v.id}/metadata", json={"metadata": meta}
                ),
            )
        tags = [e.tag(e.SHUTDOWN_KEY, a.form), e.tag(e.POWEROFF_KEY, stamp)]
        for x in a.data["ports"]:
            self._step(
                a,
                "mark",
                "port",
                x.id,
                x.id,
                lambda x=x: call(
                    "network",
                    "PUT",
                    f"/ports/{x.id}/tags",
                    json={"tags": sorted(set(x.tags) | set(tags))},
                ),
            )
        for f in a.data["floating_ips"]:
            self._step(
                a,
                "mark",
                "floating_ip",
                f.ip,
                f.id,
                lambda f=f: call(
                    "network",
                    "PUT",
                    f"/floatingips/{f.id}/tags",
                    json={"tags": sorted(set(f.tags) | set(tags))},
                ),
            )
        # the server's own mark last: it is what starts the seven days
        self._step(
            a,
            "mark",
            "server",
            server.name,
            server.id,
            lambda: call(
                "compute", "POST", f"/servers/{server.id}/metadata", json={"metadata": meta}
            ),
        )

    def repoweroff(self, a: e.Action, now: datetime) -> None:
        server: Server = a.data["server"]
        self._stop(a, server)
        self._step(
            a,
            "mark",
            "server",
            server.name,
            server.id,
            lambda: self.api.call(
                "compute",
                "POST",
                f"/servers/{server.id}/metadata",
                json={"metadata": {e.POWERON_SEEN_KEY: now.isoformat()}},
            ),
        )

    def delete(self, a: e.Action, now: datetime) -> None:
        """Floating IPs → server (waited for) → ports → volumes (once detached)."""
        call = self.api.call
        for f in a.data["floating_ips"]:
            self._step(
                a,
                "delete",
                "floating_ip",
                f.ip,
                f.id,
                lambda f=f: call("network", "DELETE", f"/floatingips/{f.id}", ok=(404,)),
            )
        server: Server | None = a.data["server"]
        if server is not None:
            self._step(
                a,
                "delete",
                "server",
                server.name,
                server.id,
                lambda: call("compute", "DELETE", f"/servers/{server.id}", ok=(404,)),
            )
            self._wait(
                _("云主机 {name} 被删除").format(name=server.name),
                lambda: (
                    not (call("compute", "GET", f"/servers/{server.id}", ok=(404,)) or {}).get(
                        "server"
                    )
                ),
            )
        for x in a.data["ports"]:
            self._step(
                a,
                "delete",
                "port",
                x.id,
                x.id,
                lambda x=x: call("network", "DELETE", f"/ports/{x.id}", ok=(404,)),
            )
        for v in a.data["volumes"]:

            def gone_or_free(v: Volume = v) -> bool:
                body = call("volume", "GET", f"/volumes/{v.id}", ok=(404,)) or {}
                status = (body.get("volume") or {}).get("status")
                if status in ("error", "error_deleting"):
                    raise EngineError(
                        _("云硬盘 {id} 处于 {status} 状态").format(id=v.id, status=status)
                    )
                return status in (None, "available")

            self._wait(_("云硬盘 {name} 被卸载").format(name=v.name or v.id), gone_or_free)
            self._step(
                a,
                "delete",
                "volume",
                v.name or v.id,
                v.id,
                lambda v=v: call("volume", "DELETE", f"/volumes/{v.id}", ok=(404,)),
            )

    def reclaim(self, a: e.Action, now: datetime) -> None:
        """The system has no host left: its cgcloud groups go, quotas go to zero, and the
        project is tagged so that `apply` does not open it again."""
        proj: p.AProject = a.data["project"]
        call = self.api.call
        group_ids = {g.id for g in a.data["groups"]}
        if group_ids:
            ports = call(
                "network",
                "GET",
                "/ports",
                params={"project_id": proj.id, "fields": ["id", "security_groups"]},
            )["ports"]
            for x in ports:
                keep = [g for g in x.get("security_groups") or [] if g not in group_ids]
                if len(keep) != len(x.get("security_groups") or []):
                    self._step(
                        a,
                        "update",
                        "binding",
                        x["id"],
                        x["id"],
                        lambda x=x, keep=keep: call(
                            "network",
                            "PUT",
                            f"/ports/{x['id']}",
                            json={"port": {"security_groups": keep}},
                        ),
                    )
        for g in a.data["groups"]:
            self._step(
                a,
                "delete",
                "group",
                g.name,
                g.id,
                lambda g=g: call("network", "DELETE", f"/security-groups/{g.id}", ok=(404,)),
            )

        def zero() -> None:
            call(
                "compute",
                "PUT",
                f"/os-quota-sets/{proj.id}",
                json={"quota_set": {"instances": 0, "cores": 0, "ram": 0}},
            )
            current = call("volume", "GET", f"/os-quota-sets/{proj.id}")["quota_set"]
            call(
                "volume",
                "PUT",
                f"/os-quota-sets/{proj.id}",
                json={
                    "quota_set": {
                        k: 0
                        for k in current
                        if k.startswith("gigabytes") or k in ("volumes", "snapshots")
                    }
                },
            )
            # Neutron refuses a quota below usage: zero where nothing is left, else what
            # is still used (the project's `default` group and its rules stay)
            usage = call("network", "GET", f"/quotas/{proj.id}/details")["quota"]
            call(
                "network",
                "PUT",
                f"/quotas/{proj.id}",
                json={"quota": {k: int(usage[k]["used"]) for k in NETWORK_QUOTAS if k in usage}},
            )

        self._step(a, "update", "quota", proj.name, proj.id, zero)
        # the rule fingerprint goes (``proj.tags`` holds none, and Keystone replaces
        # the list): the project no longer holds the forms' rules
        tags = sorted({*proj.tags, d.DECOMMISSIONED_TAG + a.form})
        self._step(
            a,
            "update",
            "project",
            proj.name,
            proj.id,
            lambda: call(
                "identity", "PATCH", f"/projects/{proj.id}", json={"project": {"tags": tags}}
            ),
        )
