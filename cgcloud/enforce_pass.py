"""One enforce pass and the watch loop, against the ``Engine`` protocol (docs/enforce.md).

The pass: under the apply lock, read projects and servers while the repository is
loaded, skip the settled systems, decide (``enforce``, pure), act through the engine,
record fingerprints and reclaim records. The loop: one pass at a time, waking at the
next window boundary, a failed pass never ending it. The CLI only parses options,
calls these and renders; the in-memory engine tests them without a cloud.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cgcloud import clock, desired, enforce, model
from cgcloud import plan as planner
from cgcloud.actual import ActualState
from cgcloud.backoff import Backoff
from cgcloud.engines.base import WATCH_LOCK, Engine, LockHeld
from cgcloud.i18n import N_, _
from cgcloud.redact import redact

EXIT_ERROR, EXIT_DELETE_GUARD, EXIT_LOCKED = 1, 3, 4  # the exit-code table's rows a pass uses


class PassError(Exception):
    """A pass that could not run (invalid forms, cloud unreachable, lock held)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


@dataclass
class PassResult:
    now: datetime
    actions: list[Any] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    blocked: int = 0
    repo: Any = None
    settled: int = 0  # systems whose Neutron resources the pass did not need to read
    marks: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)
    records: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> list[Any]:
        return [a for a in self.actions if a.status == "failed"]

    @property
    def done(self) -> list[Any]:
        return [a for a in self.actions if a.status == "done"]


Loader = Callable[[datetime], model.Repository]  # validates; raises PassError when invalid


Gate = Callable[[model.Repository, list[enforce.Action], datetime], dict[str, str]]


def run_pass(
    engine: Engine,
    load: Loader,
    when: datetime,
    *,
    max_deletes: int,
    records: Path,
    warn: Callable[[str], None] = lambda msg: None,
    poweroff_gate: Gate | None = None,
) -> PassResult:
    """One enforce pass under the apply lock: read, decide (pure), act, record.
    ``poweroff_gate``: notice id → why its hosts may not be powered off yet (the bastion's
    shutdown commands, cgcloud/cli/bastion.py); asked once the actions are known."""
    from cgcloud.validate import cyclic_gc_paused

    with cyclic_gc_paused():  # a pass allocates ~10^5 objects and keeps them to its end
        return _run_pass(
            engine,
            load,
            when,
            max_deletes=max_deletes,
            records=records,
            warn=warn,
            gate=poweroff_gate,
        )


def _run_pass(
    engine: Engine,
    load: Loader,
    when: datetime,
    *,
    max_deletes: int,
    records: Path,
    warn: Callable[[str], None],
    gate: Gate | None,
) -> PassResult:
    t0, r0 = time.monotonic(), engine.requests
    try:
        engine.acquire_lock()
    except LockHeld as exc:
        raise PassError(_("错误: {e}").format(e=exc), EXIT_LOCKED) from None
    try:
        # Projects and servers are read while the repository validates; reads change
        # nothing, so an invalid repository still stops the pass before any action.
        # Then Neutron, for the systems that are not settled only: a project whose
        # recorded rule fingerprint equals the one wanted now holds exactly the rules
        # the forms want (docs/enforce.md). Nova/Cinder quotas and flavors are apply's;
        # a decommission reads the due systems' own.
        with ThreadPoolExecutor(2) as background:
            reading = background.submit(engine.read_projects)
            listing = (
                background.submit(engine.list_servers) if "compute" in engine.services() else None
            )
            repo = load(when)
            state = desired.compile(repo, when, engine.quota_room)
            projects = reading.result()
            servers = listing.result() if listing is not None else None
        due = enforce.due_systems(repo, when)
        names = planner.placeholders(state)
        fps = planner.fingerprints(
            state,
            planner.placeholder_addresses(
                engine.read_placeholder_ports(names) if names else [], projects
            ),
        )
        skip = planner.settled(fps, projects) - due
        known = set(fps) | set(planner.managed_projects_by_id(projects).values())
        actual = engine.read(None, network_only=True, projects=projects, scope=known - skip)
        result = PassResult(now=when, repo=repo, settled=len(skip))
        full = planner.diff(state, actual, cloud=engine.cloud, fps=fps)
        rule_plan, rule_acts = enforce.rule_actions(full, actual, repo, when)
        inv = engine.read_inventory(actual, due, servers)
        decom = enforce.decommission_actions(repo, inv, when)
        result.marks = enforce.marks(inv)
        result.actions = [*rule_acts, *decom, *enforce.lapsed(repo, actual.projects, when)]
        result.blocked = _guard_deletes(decom, max_deletes)
        if _apply_rules(engine, state, rule_plan, actual, rule_acts):
            # a fingerprint only for a project that now equals the forms (due: read every pass)
            engine.record_fingerprints(
                [f for f in enforce.converged(full, rule_plan) if f.system not in due]
            )
        blocked = gate(repo, decom, when) if gate is not None else {}
        hosts, reclaimed = _decommission(engine, decom, when, blocked)
        systems = {n.id: n.system for n in repo.shutdowns}
        for form in sorted(set(hosts) | set(reclaimed)):
            result.records.extend(
                write_record(
                    records,
                    engine.cloud,
                    form,
                    systems.get(form, ""),
                    hosts.get(form, []),
                    when,
                    reclaimed.get(form),
                )
            )
        for a in result.actions:
            if a.status == "planned":
                a.status = "reported"
    finally:
        try:
            engine.release_lock()
        except Exception as exc:  # noqa: BLE001
            warn(_("警告: 释放锁失败（将在到期后失效）: {err}").format(err=redact(str(exc))))
    result.requests = engine.requests - r0
    result.seconds = time.monotonic() - t0
    return result


def _guard_deletes(decom: list[enforce.Action], max_deletes: int) -> int:
    """Irreversible deletions are guarded (closing a rule never is: apply can reopen it);
    returns how many actions were blocked."""
    deletes = sum(a.deletes for a in decom if a.verb in ("delete", "reclaim"))
    if deletes <= max_deletes:
        return 0
    blocked = 0
    for a in decom:
        if a.verb in ("delete", "reclaim"):
            a.status, a.error = (
                "blocked",
                _("超过 --max-deletes {max}（本次共 {n} 个）").format(max=max_deletes, n=deletes),
            )
            blocked += 1
    return blocked


def _apply_rules(
    engine: Engine,
    state: desired.DesiredState,
    rule_plan: planner.Plan,
    actual: ActualState,
    rule_acts: list[enforce.Action],
) -> bool:
    """Open and close rules through the engine; each action gets its steps' outcome.
    True when everything was carried out."""
    if not rule_plan.changes:
        for a in rule_acts:
            a.status = "done"
        return True
    outcome = engine.apply(state, rule_plan, actual)
    status = {id(s.change): s for s in outcome.steps}
    why_not = next(
        (
            _("未完成: {error}").format(error=s.error)
            for s in outcome.untagged
            if s.status == "failed"
        ),
        _("未完成"),
    )
    for a in rule_acts:
        steps = [status[id(c)] for c in a.changes if id(c) in status]
        bad = [s for s in steps if s.status != "done"]
        a.status = "failed" if bad else "done"
        a.error = "; ".join(s.error or why_not for s in bad)
    return outcome.ok


def _decommission(
    engine: Engine,
    decom: list[enforce.Action],
    when: datetime,
    gate: dict[str, str],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Carry out the decommission actions in order; after a failure the notice's later
    steps are not tried; a power-off the gate holds back fails with its reason. Returns
    the deleted hosts' and the reclaims' record lines."""
    failed_forms: set[str] = set()
    hosts: dict[str, list[dict[str, Any]]] = {}
    reclaimed: dict[str, dict[str, Any]] = {}
    for a in decom:
        if a.verb == "report":
            a.status = "reported"
            continue
        if a.status == "blocked":
            continue
        if a.form in failed_forms:
            a.status, a.error = "failed", _("同一关停通知单的前一步失败，未执行")
            continue
        if a.verb == "poweroff" and a.form in gate:
            a.status, a.error = "failed", gate[a.form]
            failed_forms.add(a.form)
            continue
        try:
            engine.decommission(a, when)
            a.status = "done"
        except Exception as exc:  # noqa: BLE001 - EngineError and timeouts alike
            a.status, a.error = "failed", str(exc)
            failed_forms.add(a.form)
            continue
        if a.verb == "delete" and a.data.get("record"):
            hosts.setdefault(a.form, []).append(a.data["record"])
        if a.verb == "reclaim":
            reclaimed[a.form] = {
                "at": when.isoformat(),
                "groups": [g.name for g in a.data["groups"]],
                "project": a.data["project"].name,
            }
    return hosts, reclaimed


def write_record(
    directory: Path,
    cloud: str,
    form: str,
    system: str,
    hosts: list[dict[str, Any]],
    when: datetime,
    reclaimed: dict[str, Any] | None,
) -> list[Path]:
    """回收记录 as JSON and Markdown, merged with an earlier record of the same notice."""
    directory.mkdir(parents=True, exist_ok=True)
    base = directory / f"回收记录-{cloud}-{form}"
    js, md = base.with_suffix(".json"), base.with_suffix(".md")
    previous = json.loads(js.read_text(encoding="utf-8")) if js.exists() else None
    rec = enforce.reclaim_record(form, system, cloud, hosts, when, previous, reclaimed)
    js.write_text(json.dumps(rec, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md.write_text(enforce.reclaim_markdown(rec), encoding="utf-8")
    return [js, md]


# an action's line by its status (marked here, translated in ``render``)
_LINE = {"failed": N_("失败 {message}"), "blocked": N_("已阻止 {message}")}


def render(result: PassResult, fmt: str, cloud: str) -> str:
    if fmt == "json":
        return (
            json.dumps(
                {
                    "format": "cgcloud-enforce/v1",
                    "cloud": cloud,
                    "now": result.now.isoformat(),
                    "actions": [a.to_dict() for a in result.actions],
                    "records": [str(x) for x in result.records],
                    "requests": result.requests,
                    "seconds": round(result.seconds, 3),
                    "settled": result.settled,
                },
                ensure_ascii=False,
                indent=2,
            )
            + "\n"
        )
    lines = []
    for a in result.actions:
        line = _LINE.get(a.status)
        lines.append(_(line).format(message=a.message) if line else a.message)
        if a.error:
            lines.append(f"    {a.error}")
    acted = [a for a in result.actions if a.acts]
    at = result.now.isoformat()
    if not acted:
        head = _("Enforce：{at} 没有到期的动作").format(at=at)
    else:
        head = _("Enforce：{at} 完成 {done} 项，失败 {failed} 项，阻止 {blocked} 项").format(
            at=at, done=len(result.done), failed=len(result.failed), blocked=result.blocked
        )
    reported = sum(1 for a in result.actions if a.verb == "report")
    lines.append(
        _(
            "{head}；报告 {reported} 项（{requests} 次 API 请求，{seconds} 秒；"
            "{settled} 个已一致的系统未读取）"
        ).format(
            head=head,
            reported=reported,
            requests=result.requests,
            seconds=f"{result.seconds:.2f}",
            settled=result.settled,
        )
    )
    lines.extend(_("回收记录: {path}").format(path=x) for x in result.records)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- watch


class Watch:
    """The long-lived loop, with every side effect injected (unit-tested with fakes).

    ``run`` does one pass at a time and returns when to wake next; ``wait``
    sleeps until then or until ``stop`` is set (SIGTERM): a pass in progress is
    always finished, never cut in half. A pass that raises (cloud down, lock held,
    invalid forms) is reported through ``on_error`` and tried again after a bounded,
    jittered exponential back-off (``backoff``); a good pass resets it.
    """

    def __init__(
        self,
        run: Callable[[datetime], datetime],
        now: Callable[[], datetime],
        stop: threading.Event,
        wait: Callable[[float], bool] | None = None,
        on_error: Callable[[Exception, float], None] | None = None,
        retry_seconds: float = 30.0,
        backoff: Backoff | None = None,
    ):
        self.run, self.now, self.stop = run, now, stop
        self.wait = wait or stop.wait
        self.on_error = on_error or (lambda exc, delay: None)
        self.backoff = backoff or Backoff(first=min(5.0, retry_seconds), cap=retry_seconds)
        self.passes = 0

    def loop(self) -> None:
        while not self.stop.is_set():
            start = self.now()
            try:
                wake = self.run(start)
            except Exception as exc:  # noqa: BLE001 - one bad pass must not end the loop
                delay = self.backoff.failed()
                self.on_error(exc, delay)
                wake = clock.later(self.now(), timedelta(seconds=delay))
            else:
                self.backoff.succeeded()
            self.passes += 1
            if self.stop.is_set():
                return
            self.wait(max(0.0, (wake - self.now()).total_seconds()))


class Lease:
    """The watch loop's own lease (one loop per cloud), taken when the cloud lets us and
    renewed after every pass. Not holding it (cloud down at start, another loop holds
    it, someone removed it) is not fatal: the pass is skipped and retried."""

    def __init__(
        self, engine: Engine, ttl: timedelta, say: Callable[[str], None] = lambda msg: None
    ):
        self.engine, self.ttl, self.held, self.say = engine, ttl, False, say

    def ensure(self) -> None:
        if self.held:
            return
        try:
            self.engine.acquire_lock(ttl=self.ttl, name=WATCH_LOCK)
        except LockHeld as exc:
            raise PassError(
                _("enforce --watch: 另一个 enforce --watch 持有租约，稍后重试: {err}").format(
                    err=exc
                ),
                EXIT_LOCKED,
            ) from None
        self.held = True
        self.say(_("enforce --watch: 已取得租约 {name}").format(name=WATCH_LOCK))

    def renew(self) -> None:
        try:
            self.engine.renew_lock(self.ttl, name=WATCH_LOCK)
        except LockHeld:
            self.held = False  # removed by someone else: take it again before the next pass
            raise

    def release(self) -> None:
        if self.held:
            self.engine.release_lock(name=WATCH_LOCK)
            self.held = False


def shifted_clock(now: str | None) -> Callable[[], datetime]:
    """The real clock, or one that starts at --now and runs at real speed."""
    from cgcloud import clock

    if now is None:
        return lambda: clock.now_local(None)
    offset = clock.now_local(now) - clock.now_local(None)
    return lambda: clock.now_local(None) + offset
