"""The seam between the core and a cloud: the ``Engine`` protocol and its neutral types.

Why a Protocol (PEP 544) and not a base class: an engine is judged by what it
does, not by what it inherits. The OpenStack engine (REST through openstacksdk),
the in-memory reference engine (tests) and a declarative one (Pulumi: it receives
the whole desired state with every ``apply``) share no code, only these shapes.
mypy checks each against the Protocol where the registry hands it out.

Everything here is plain data or a signature: no SDK, no I/O. The core
(``plan``, ``enforce``, ``enforce_pass``, ``exporter``) talks to a cloud only
through these methods; the CLI picks an engine by name (``cgcloud.engines.create``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cgcloud.actual import ActualState, APort, AProject, Inventory, Server
from cgcloud.redact import redact

if TYPE_CHECKING:
    from cgcloud import plan as p
    from cgcloud.desired import DesiredState, QuotaRoom
    from cgcloud.enforce import Action

APPLY_LOCK = "cgcloud-lock"  # apply and every enforce pass hold it while they act
WATCH_LOCK = "cgcloud-enforce-watch"  # one `enforce --watch` loop per cloud
DEFAULT_LOCK_TTL = timedelta(minutes=15)

Progress = Callable[[str, int, int], None]  # (phase, done, total)


class EngineError(RuntimeError):
    """A cloud call that failed for good (after the engine's retries), with what was asked.
    The message is redacted of credentials on creation: it is printed, logged and audited."""

    def __init__(self, message: str = ""):
        super().__init__(redact(message))


class CloudConfigError(EngineError):
    """The cloud's configuration (e.g. clouds.yaml) is missing the cloud, unreadable or
    invalid: a user mistake, reported with where it is."""


class EngineUnavailable(EngineError):
    """The engine cannot run on this machine (e.g. the Pulumi CLI it drives is not
    installed): a setup problem found before anything was read or changed. The message
    says what to install or set; the CLI prints it as it is and exits 1."""


class LockHeld(EngineError):
    """Someone else holds the lease (the message names the holder and its expiry)."""


@dataclass(slots=True)
class LockHolder:
    """Who holds a lease: the engine's own id of it and what the holder wrote."""

    id: str
    owner: str = "?"
    acquired: str = "?"
    expires: str = "1970-01-01T00:00:00+00:00"


@dataclass(slots=True)
class Step:
    """One change of a plan as carried out: done, failed (with why) or not started."""

    change: p.Change
    status: str = "not-done"  # done | failed | not-done
    error: str = ""
    id: str | None = None


@dataclass(slots=True)
class ApplyResult:
    steps: list[Step] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    untagged: list[Step] = field(default_factory=list)  # stale rule fingerprints removed

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.untagged + self.steps if s.status == "failed"]

    @property
    def done(self) -> list[Step]:
        return [s for s in self.steps if s.status == "done"]

    @property
    def not_done(self) -> list[Step]:
        return [s for s in self.steps if s.status == "not-done"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_done


@dataclass(slots=True)
class ServerPower:
    """One server's power state and the best evidence of when it last changed.

    ``since`` is the time the cloud last changed the server's record (Nova's
    ``updated``; cgcloud's own ``cgcloud:poweroff`` mark when that is later): a
    power change updates the record, so a server that is off now has been off at
    least since then. Later edits of the record move it forward, never back, so
    "off for N days" is never overstated. ``None``: the cloud does not say."""

    id: str
    name: str
    project_id: str
    powered_on: bool
    status: str  # ACTIVE | SHUTOFF | PAUSED | SUSPENDED | ERROR | …
    since: datetime | None = None
    shutdown_form: str = ""  # the ShutdownNotice of a decommission (off on purpose)


@dataclass(slots=True)
class VolumeUse:
    """One volume's tier, size and attachment, with the dates the block-storage API
    gives. There is no I/O counter in that API (that needs telemetry): "last used" is
    derived from these by the exporter (docs/metrics.md, "Volumes")."""

    id: str
    name: str
    project_id: str
    tier: str  # the volume type's name ("" when the cloud names none)
    size_gb: int
    server_ids: list[str] = field(default_factory=list)
    attached_at: datetime | None = None  # the latest attachment's time
    updated_at: datetime | None = None  # the record's last change (detach included)


@dataclass(slots=True)
class Usage:
    """What the exporter needs beyond the actual state: per project, GB in volumes (in
    total and per tier) and the number of floating IPs; every server's power state and
    every volume's tier and attachment (all from a fixed number of paged lists)."""

    volume_gb: dict[str, int] = field(default_factory=dict)
    floating_ips: dict[str, int] = field(default_factory=dict)
    volume_gb_by_tier: dict[str, dict[str, int]] = field(default_factory=dict)  # pid → tier → GB
    servers: list[ServerPower] = field(default_factory=list)
    volumes: list[VolumeUse] = field(default_factory=list)

    def add_volume(self, v: VolumeUse) -> None:
        """Count a volume in the per-project totals and keep it."""
        self.volumes.append(v)
        self.volume_gb[v.project_id] = self.volume_gb.get(v.project_id, 0) + v.size_gb
        tiers = self.volume_gb_by_tier.setdefault(v.project_id, {})
        tiers[v.tier] = tiers.get(v.tier, 0) + v.size_gb


@runtime_checkable
class Engine(Protocol):
    """What cgcloud's commands need of a cloud. docs/architecture.md, "The engine seam".

    Reads return plain data (``cgcloud.actual``); ``apply`` receives the desired state
    *and* the plan (an imperative engine carries out the plan's steps, a declarative
    one hands the desired state to its own engine and reports per change). Every
    method raises ``EngineError`` (or ``LockHeld``) for a cloud failure, never an SDK
    exception.
    """

    name: str  # the registry name ("openstack", "memory")
    cloud: str  # the cloud's name as the user gave it
    requests: int  # API requests made so far (benchmarks, --textfile, the exporter)
    audit_path: Path | None  # where every change is recorded (None: nowhere)
    # what the cloud puts in every project by itself: pass it to `desired.compile`
    quota_room: QuotaRoom

    # ---- read
    def services(self) -> list[str]:
        """The kinds of service the cloud offers: "compute", "volume", "network"."""
        ...

    def read_projects(self) -> list[AProject]:
        """Every project but the engine's own lock leases."""
        ...

    def read(
        self,
        state: DesiredState | None = None,
        *,
        network_only: bool = False,
        projects: list[AProject] | None = None,
        scope: set[str] | None = None,
    ) -> ActualState:
        """The actual state. ``state``: read quotas of its systems' projects only.
        ``network_only``: groups, rules, ports and network quotas only. ``projects``:
        the caller's `read_projects` result. ``scope``: read the network resources of
        these systems only (``ActualState.scope`` says so; enforce skips settled ones)."""
        ...

    def read_placeholder_ports(self, names: list[str]) -> list[APort]:
        """Ports carrying any of these placeholder marks."""
        ...

    # ---- act
    def apply(
        self,
        state: DesiredState,
        plan: p.Plan,
        actual: ActualState,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> ApplyResult:
        """Make the cloud hold ``state``: the ``plan`` is diff(state, actual). Stops
        starting new steps after a hard failure, or when ``stop`` is set from outside
        (Ctrl-C, SIGTERM: what was not started is "not-done"); every step is idempotent."""
        ...

    def record_fingerprints(
        self, fps: list[p.Fingerprint], applied: ApplyResult | None = None
    ) -> list[Step]:
        """Bookkeeping for enforce: note on each project the rule fingerprint it now
        holds (``applied``: the ids of projects the apply created)."""
        ...

    # ---- leases
    def acquire_lock(
        self, ttl: timedelta = DEFAULT_LOCK_TTL, owner: str | None = None, name: str = APPLY_LOCK
    ) -> None:
        """Take the named lease (atomically for everyone using this cloud) or raise
        ``LockHeld``; an expired lease is taken over."""
        ...

    def renew_lock(self, ttl: timedelta, name: str = APPLY_LOCK) -> None: ...

    def release_lock(self, name: str = APPLY_LOCK) -> None: ...

    def lock_holder(self, name: str = APPLY_LOCK) -> LockHolder | None: ...

    # ---- decommission (docs/enforce.md)
    def list_servers(self) -> list[Server]:
        """Every server of every project, with its marks."""
        ...

    def read_inventory(
        self, actual: ActualState, systems: set[str], servers: list[Server] | None = None
    ) -> Inventory:
        """Servers of the managed projects; volumes, ports, floating IPs and quotas of
        the projects of ``systems`` and of projects holding marked servers."""
        ...

    def decommission(self, action: Action, now: datetime) -> None:
        """Carry out one decommission action (poweroff, repoweroff, delete, reclaim):
        power, marks, deletions; raises ``EngineError`` on failure."""
        ...

    # ---- metrics
    def read_usage(self, actual: ActualState) -> Usage:
        """Volume GB (per tier too) and floating IPs per project, servers' power states,
        volumes' tiers and attachments (the exporter's extra reads: paged lists only)."""
        ...


@runtime_checkable
class Previewing(Protocol):
    """An engine with a planner of its own (a declarative one: Pulumi's preview). What it
    will do is its planner's answer, not cgcloud's diff, so ``plan`` and ``apply`` show
    that answer, translated into cgcloud's plan."""

    def preview(self, state: DesiredState, actual: ActualState) -> p.Plan:
        """The changes the engine's own planner would make to hold ``state`` (``actual``:
        what the engine read, e.g. the ports the program resolves)."""
        ...


EngineFactory = Callable[..., Engine]
