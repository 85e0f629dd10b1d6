"""The OpenStack engine: the ``Engine`` protocol over one named cloud.

A facade: every piece does its work in a module of its own, all on one ``api.Api``
(the connection, ``call`` with bounded retries, paging) — ``reads`` (the actual
state), ``apply`` with ``bulk`` and ``runner`` (the plan's steps), ``locks``
(leases), ``fingerprints`` (how the core's fingerprints are kept), ``decommission``
and ``usage``. Nothing below imports this module back (pyproject's layers contract).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.actual import Inventory, Server
from cgcloud.engines.audit import AuditLog
from cgcloud.engines.base import DEFAULT_LOCK_TTL, ApplyResult, LockHolder, Progress, Step, Usage
from cgcloud.engines.openstack import decommission, neutron, reads, usage
from cgcloud.engines.openstack.api import Api
from cgcloud.engines.openstack.apply import Applier
from cgcloud.engines.openstack.locks import LOCK_NAME, WATCH_LOCK_NAME, Leases
from cgcloud.engines.openstack.runner import Runner

if TYPE_CHECKING:
    from cgcloud.enforce import Action
    from cgcloud.engines.openstack.connection import Timeouts

__all__ = ["LOCK_NAME", "WATCH_LOCK_NAME", "OpenStackEngine"]

BULK_SIZE = 250


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
        self.api = Api(cloud, conn=conn, retries=retries, backoff=backoff, timeout=timeout)
        self.concurrency = max(1, concurrency)
        self.bulk_size = BULK_SIZE  # 1 = one create per request (benchmarks compare)
        self.audit = AuditLog(audit_path, cloud, self.api.actor)
        self.audit_path = audit_path
        self.leases = Leases(self.api)

    # ---------------------------------------------------------------- the connection

    @property
    def requests(self) -> int:
        """API requests made so far (benchmarks, --textfile, the exporter)."""
        return self.api.requests

    @requests.setter
    def requests(self, value: int) -> None:
        self.api.requests = value

    @property
    def conn(self) -> Any:
        return self.api.conn

    @property
    def timeouts(self) -> Timeouts:
        return self.api.timeouts

    @property
    def actor(self) -> str:
        return self.api.actor

    def call(self, service: str, method: str, url: str, **kwargs: Any) -> Any:
        """One API call with bounded retries (``api.Api.call``; tests and tools use it)."""
        return self.api.call(service, method, url, **kwargs)

    def _pages(
        self, resource: str, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.api.pages(resource, params)

    def authenticate(self) -> None:
        self.api.authenticate()

    # ---------------------------------------------------------------- read

    def services(self) -> list[str]:
        return reads.read_services(self.api)

    def read_projects(self) -> list[p.AProject]:
        return reads.read_projects(self.api)

    def read(
        self,
        state: d.DesiredState | None = None,
        *,
        network_only: bool = False,
        projects: list[p.AProject] | None = None,
        scope: set[str] | None = None,
    ) -> p.ActualState:
        return reads.read(
            self.api,
            self.concurrency,
            state,
            network_only=network_only,
            projects=projects,
            scope=scope,
        )

    def read_all_quotas(
        self, project_ids: list[str], services: list[str]
    ) -> dict[str, dict[str, int]]:
        return reads.read_all_quotas(self.api, project_ids, services, self.concurrency)

    def read_quotas(self, project_id: str, services: list[str]) -> dict[str, int]:
        return reads.read_quotas(self.api, project_id, services)

    def read_placeholder_ports(self, names: list[str]) -> list[p.APort]:
        return reads.read_placeholder_ports(self.api, names)

    # ---------------------------------------------------------------- apply

    def _applier(self) -> Applier:
        return Applier(Runner(self.api, self.audit, self.concurrency, self.bulk_size))

    def apply(
        self,
        state: d.DesiredState,
        plan: p.Plan,
        actual: p.ActualState,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> ApplyResult:
        """Carry out the plan's steps (``state`` is not needed: this engine is imperative)."""
        return self._applier().apply(plan, actual, progress, stop)

    def record_fingerprints(
        self, fps: list[p.Fingerprint], applied: ApplyResult | None = None
    ) -> list[Step]:
        return self._applier().record_fingerprints(fps, applied)

    # ---------------------------------------------------------------- leases

    def acquire_lock(
        self, ttl: timedelta = DEFAULT_LOCK_TTL, owner: str | None = None, name: str = LOCK_NAME
    ) -> None:
        self.leases.acquire_lock(ttl, owner, name)

    def lock_holder(self, name: str = LOCK_NAME) -> LockHolder | None:
        return self.leases.lock_holder(name)

    def release_lock(self, name: str = LOCK_NAME) -> None:
        self.leases.release_lock(name)

    def renew_lock(self, ttl: timedelta, name: str = LOCK_NAME) -> None:
        self.leases.renew_lock(ttl, name)

    # ---------------------------------------------------------------- decommission, usage

    def list_servers(self) -> list[Server]:
        return decommission.list_servers(self.api)

    def read_inventory(
        self, actual: p.ActualState, systems: set[str], servers: list[Server] | None = None
    ) -> Inventory:
        return decommission.read_inventory(self.api, actual, systems, servers)

    def decommission(self, action: Action, now: datetime) -> None:
        decommission.Decommissioner(self.api, self.audit).run(action, now)

    def read_usage(self, actual: p.ActualState) -> Usage:
        return usage.read_usage(self.api, actual)
