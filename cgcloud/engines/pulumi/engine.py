"""`--engine pulumi`: the Engine protocol through Pulumi's Automation API (docs/pulumi.md).

A declarative engine: ``preview`` runs ``pulumi preview`` and ``apply`` runs ``pulumi up``
on a stack whose inline program is `program.declare` over the desired state cgcloud
already compiled (so `now` and the forms are exactly the command's); Pulumi's engine
decides the steps, `translate` turns its events into cgcloud's plan and step outcomes.

What the program does not own is not Pulumi's business, and Pulumi has no meaning for
it: reads (projects, ports for placeholders and bindings, servers, usage) and the
cloud's apply lease go to the OpenStack engine, created through the registry (engines
are independent: no import of another engine). The decommission's power-off and
deletions of servers (made outside cgcloud and Pulumi) go there too; its reclaim, which
would delete groups and zero quotas the Pulumi stack owns, is refused with a clear
error: under Pulumi those go away when the forms stop granting them (``pulumi up``).
Rule fingerprints are not recorded: they are project tags, which the stack owns.
"""

from __future__ import annotations

import contextlib
import getpass
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.actual import ActualState, APort, AProject, Inventory, Server
from cgcloud.engines.audit import AuditLog
from cgcloud.engines.base import (
    APPLY_LOCK,
    DEFAULT_LOCK_TTL,
    ApplyResult,
    Engine,
    EngineError,
    EngineUnavailable,
    LockHeld,
    LockHolder,
    Progress,
    Step,
    Usage,
)
from cgcloud.engines.pulumi.workspace import Settings, open_stack
from cgcloud.i18n import _

if TYPE_CHECKING:
    from pulumi.automation import EngineEvent

    from cgcloud.enforce import Action
    from cgcloud.engines.pulumi.program import Declared

DELEGATED_VERBS = ("poweroff", "repoweroff", "delete")  # servers: not the stack's


class PulumiEngine:
    """The Engine protocol on a Pulumi stack; reads and leases through the OpenStack engine."""

    name = "pulumi"

    def __init__(
        self,
        cloud: str,
        *,
        audit_path: Path | None = None,
        timeout: float | None = None,
        stack: str | None = None,
        backend: str | None = None,
        reader: Engine | None = None,
        settings: Settings | None = None,
    ):
        # before anything else: can Pulumi run here at all (the CLI, the backend's passphrase)
        self.settings = settings or Settings.resolve(stack or cloud, backend)
        self.cloud = cloud
        self.audit_path = audit_path
        if reader is None:
            from cgcloud import engines

            reader = engines.create("openstack", cloud, audit_path=audit_path, timeout=timeout)
        self.reader = reader
        # Neutron's (the stack's resources live there): the OpenStack engine's
        self.quota_room: d.QuotaRoom = reader.quota_room
        actor = f"{getpass.getuser()} (pulumi stack {self.settings.stack})"
        self.audit = AuditLog(audit_path, cloud, actor)
        self._volume_types: list[str] | None = None

    @property
    def requests(self) -> int:
        """The cloud API requests of the reads (Pulumi's provider counts its own)."""
        return self.reader.requests

    @requests.setter
    def requests(self, value: int) -> None:
        self.reader.requests = value

    # ---- read: the OpenStack engine's
    def services(self) -> list[str]:
        return self.reader.services()

    def read_projects(self) -> list[AProject]:
        return self.reader.read_projects()

    def read(
        self,
        state: d.DesiredState | None = None,
        *,
        network_only: bool = False,
        projects: list[AProject] | None = None,
        scope: set[str] | None = None,
    ) -> ActualState:
        return self.reader.read(state, network_only=network_only, projects=projects, scope=scope)

    def read_placeholder_ports(self, names: list[str]) -> list[APort]:
        return self.reader.read_placeholder_ports(names)

    def list_servers(self) -> list[Server]:
        return self.reader.list_servers()

    def read_inventory(
        self, actual: ActualState, systems: set[str], servers: list[Server] | None = None
    ) -> Inventory:
        return self.reader.read_inventory(actual, systems, servers)

    def read_usage(self, actual: ActualState) -> Usage:
        return self.reader.read_usage(actual)

    # ---- leases: the cloud's, shared with every other cgcloud run on it
    def acquire_lock(
        self, ttl: timedelta = DEFAULT_LOCK_TTL, owner: str | None = None, name: str = APPLY_LOCK
    ) -> None:
        self.reader.acquire_lock(ttl, owner, name)

    def renew_lock(self, ttl: timedelta, name: str = APPLY_LOCK) -> None:
        self.reader.renew_lock(ttl, name)

    def release_lock(self, name: str = APPLY_LOCK) -> None:
        self.reader.release_lock(name)

    def lock_holder(self, name: str = APPLY_LOCK) -> LockHolder | None:
        return self.reader.lock_holder(name)

    # ---- plan and act: Pulumi's
    def preview(self, state: d.DesiredState, actual: ActualState) -> p.Plan:
        """``pulumi preview`` of the program over ``state``, as cgcloud's plan."""
        actual = self._complete(state, actual)
        events: list[EngineEvent] = []
        declared: dict[str, Declared] = {}
        stack = self._stack(state, actual, declared)
        try:
            stack.preview(on_event=events.append, color="never")
        except Exception as exc:  # noqa: BLE001 - the Automation API's errors, mapped
            raise self._error("preview", exc, events) from None
        return self._plan(state, actual, declared, events)

    def apply(
        self,
        state: d.DesiredState,
        plan: p.Plan,
        actual: ActualState,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> ApplyResult:
        """``pulumi up``; each change of ``plan`` gets its resource's outcome (translate.steps).
        ``stop`` asks Pulumi to cancel (it finishes the steps in flight)."""
        from cgcloud.engines.pulumi import translate

        t0, r0 = time.monotonic(), self.requests
        actual = self._complete(state, actual)
        events: list[EngineEvent] = []
        declared: dict[str, Declared] = {}
        stack = self._stack(state, actual, declared)
        done = [0]

        def on_event(e: EngineEvent) -> None:
            events.append(e)
            if e.res_outputs_event is not None and progress is not None:
                done[0] += 1
                progress("pulumi up", min(done[0], len(plan.changes)), len(plan.changes))

        error: str | None = None
        with _cancel_on(stop, stack):
            try:
                stack.up(on_event=on_event, color="never")
            except Exception as exc:  # noqa: BLE001 - the Automation API's errors, mapped
                failure = self._error("up", exc, events)
                if isinstance(failure, EngineUnavailable | LockHeld):
                    raise failure from None
                error = str(failure)
        # the audit log records what Pulumi did to the cloud, as it announced it
        made = self._plan(state, actual, declared, events)
        for s in translate.steps(made.changes, events, error):
            self.audit.write(s)
        steps = translate.steps(plan.changes, events, error)
        return ApplyResult(steps=steps, requests=self.requests - r0, seconds=time.monotonic() - t0)

    def record_fingerprints(
        self, fps: list[p.Fingerprint], applied: ApplyResult | None = None
    ) -> list[Step]:
        """Nothing: fingerprints are project tags and the stack owns the projects' tags
        (a tag cgcloud added would be drift to Pulumi). Enforce then reads every system."""
        return []

    def decommission(self, action: Action, now: datetime) -> None:
        if action.verb in DELEGATED_VERBS:
            self.reader.decommission(action, now)
            return
        raise EngineError(
            _(
                "Pulumi 引擎不执行回收（{form}）：安全组和配额属于 Pulumi 栈 {stack}；"
                "从表单中移除该系统后运行 cgcloud apply --engine pulumi（或 pulumi up）"
                "由 Pulumi 删除，或对该云改用 --engine openstack 执行回收"
            ).format(form=action.form, stack=self.settings.stack)
        )

    # ---- inside (the pulumi SDK is imported here only: Settings.resolve checked it is there)
    def _complete(self, state: d.DesiredState, actual: ActualState) -> ActualState:
        """The program declares every system, so it resolves ports against a full read:
        a scoped or network-only read (enforce's) would drop bindings and tier quotas."""
        if actual.scope is None and actual.volume_types:
            return actual
        return self.reader.read(state)

    def _stack(self, state: d.DesiredState, actual: ActualState, out: dict[str, Declared]) -> Any:
        from cgcloud.engines.pulumi.program import declare
        from cgcloud.engines.pulumi.resolve import resolution

        res = resolution(state, actual)
        types = list(actual.volume_types)

        def program() -> None:
            out["declared"] = declare(state, res, volume_types=types)

        try:
            return open_stack(self.settings, self.cloud, program)
        except Exception as exc:  # noqa: BLE001 - the Automation API's errors, mapped
            raise self._error("stack", exc, []) from None

    def _plan(
        self,
        state: d.DesiredState,
        actual: ActualState,
        declared: dict[str, Declared],
        events: list[EngineEvent],
    ) -> p.Plan:
        from cgcloud.engines.pulumi import translate

        managed = p.managed_projects_by_id(actual.projects)
        group_systems = {g.key: g.system for g in state.groups}
        for g in actual.groups:
            ident = p.group_identity(g, managed)
            if ident is not None:
                group_systems.setdefault(*ident)
        known = declared["declared"].known if "declared" in declared else {}
        plan = translate.plan_of(
            events, known, now=state.now, cloud=self.cloud, group_systems=group_systems
        )
        plan.notes = list(state.notes)
        for line in declared["declared"].unresolved if "declared" in declared else []:
            plan.notes.append(d.Note(p.GLOBAL, "pending", line))
        return plan

    def _error(self, op: str, exc: BaseException, events: list[EngineEvent]) -> EngineError:
        """The Automation API's failure as cgcloud's: a missing or too old CLI, a stack
        another update holds, or what Pulumi said went wrong (first error it reported)."""
        from pulumi.automation import errors

        from cgcloud.engines.pulumi import translate

        if isinstance(exc, FileNotFoundError | errors.InvalidVersionError):
            return EngineUnavailable(
                _("无法运行 Pulumi CLI（{err}）：请安装或升级 Pulumi CLI（docs/pulumi.md）").format(
                    err=translate.clean(str(exc))[:300]
                )
            )
        if isinstance(exc, errors.ConcurrentUpdateError):
            return LockHeld(
                _("Pulumi 栈 {stack} 正被另一次更新锁定（pulumi cancel 或等待其结束）").format(
                    stack=self.settings.stack
                )
            )
        said = translate.first_error(events)
        if not said and isinstance(exc, errors.CommandError):
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            said = translate.clean(lines[-1]) if lines else ""
        return EngineError(
            _("Pulumi {op} 失败（栈 {stack}）: {err}").format(
                op=op, stack=self.settings.stack, err=(said or type(exc).__name__)[:500]
            )
        )


@contextlib.contextmanager
def _cancel_on(stop: threading.Event | None, stack: Any) -> Iterator[None]:
    """While an update runs, ``stop`` (Ctrl-C, SIGTERM) asks Pulumi to cancel it; Pulumi
    finishes the steps in flight. Best effort: a terminal's Ctrl-C reaches the pulumi
    process itself too (same process group)."""
    if stop is None:
        yield
        return
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if stop.wait(0.5):
                with contextlib.suppress(Exception):
                    stack.cancel()
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
        thread.join(timeout=5)
