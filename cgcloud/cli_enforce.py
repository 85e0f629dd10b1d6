"""`cgcloud enforce` and `cgcloud upcoming`: the clock-driven commands (docs/enforce.md).

`enforce` performs every time-driven action due at ``now`` and nothing else;
`--watch` repeats it as a long-lived loop that holds its own lease (one loop
per cloud), takes the apply lock for each pass (never interleaved with an
apply), wakes early at the next window boundary, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud import clock
from cgcloud.backoff import Backoff
from cgcloud.cli_reconcile import (
    DEFAULT_MAX_DELETES,
    EXIT_DELETE_GUARD,
    EXIT_ERROR,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_USAGE,
    CloudOpt,
    NowOpt,
    PathsArg,
    TimeoutOpt,
    _engine,
    _err,
    cloud_message,
)
from cgcloud.i18n import _


class Format(StrEnum):
    text = "text"
    json = "json"


def default_records_dir() -> Path:
    """$CGCLOUD_RECORDS_DIR, else next to the audit log: ~/.local/state/cgcloud/records."""
    from cgcloud.engines.openstack import state_path

    return state_path("CGCLOUD_RECORDS_DIR", "records")


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


def _load(paths: list[Path] | None, when: datetime) -> Any:
    from cgcloud import report
    from cgcloud import validate as pipeline
    from cgcloud.findings import has_errors
    from cgcloud.loader import UsageError

    try:
        v = pipeline.validate(paths or [Path("policies")], when)
    except UsageError as exc:
        raise PassError(f"错误: {exc}", EXIT_USAGE) from None
    if has_errors(v.findings):
        sys.stderr.write(report.render(v, "text"))
        raise PassError("错误: 表单校验未通过，不执行（先运行 cgcloud validate 修正错误）", EXIT_ERROR)
    return v.repo


def run_pass(engine: Any, paths: list[Path] | None, when: datetime, *, max_deletes: int,
             records: Path, bastions: bool = False) -> PassResult:
    """One enforce pass under the apply lock: read, decide (pure), act, record."""
    from cgcloud.validate import cyclic_gc_paused

    with cyclic_gc_paused():  # a pass allocates ~10^5 objects and keeps them to its end
        return _run_pass(engine, paths, when, max_deletes=max_deletes, records=records,
                         bastions=bastions)


def _run_pass(engine: Any, paths: list[Path] | None, when: datetime, *, max_deletes: int,
              records: Path, bastions: bool = False) -> PassResult:
    from cgcloud import desired, enforce
    from cgcloud import plan as planner
    from cgcloud.engines.decommission import Decommissioner, list_servers, read_inventory
    from cgcloud.engines.openstack import LockHeld

    t0, r0 = time.monotonic(), engine.requests
    try:
        engine.acquire_lock()
    except LockHeld as exc:
        raise PassError(f"错误: {exc}", EXIT_LOCKED) from None
    try:
        # Projects and servers are read while the repository validates; reads change
        # nothing, so an invalid repository still stops the pass before any action.
        # Then Neutron, for the systems that are not settled only: a project whose
        # recorded rule fingerprint equals the one wanted now holds exactly the rules
        # the forms want (docs/enforce.md). Nova/Cinder quotas and flavors are apply's;
        # a decommission reads the due systems' own.
        with ThreadPoolExecutor(2) as background:
            reading = background.submit(engine.read_projects)
            listing = (background.submit(list_servers, engine)
                       if "compute" in engine.services() else None)
            repo = _load(paths, when)
            state = desired.compile(repo, when)
            projects = reading.result()
            servers = listing.result() if listing is not None else None
        due = enforce.due_systems(repo, when)
        names = planner.placeholders(state)
        fps = planner.fingerprints(state, planner.placeholder_addresses(
            engine.read_placeholder_ports(names) if names else [], projects))
        skip = planner.settled(fps, projects) - due
        known = set(fps) | set(planner.managed_projects_by_id(projects).values())
        actual = engine.read(None, network_only=True, projects=projects, scope=known - skip)
        result = PassResult(now=when, repo=repo, settled=len(skip))
        full = planner.diff(state, actual, cloud=engine.cloud, fps=fps)
        rule_plan, rule_acts = enforce.rule_actions(full, actual, repo, when)
        inv = read_inventory(engine, actual, due, servers)
        decom = enforce.decommission_actions(repo, inv, when)
        result.marks = enforce.marks(inv)
        result.actions = [*rule_acts, *decom, *enforce.lapsed(repo, actual.projects, when)]
        # irreversible deletions are guarded; closing a rule never is (apply can reopen it)
        deletes = sum(a.deletes for a in decom if a.verb in ("delete", "reclaim"))
        if deletes > max_deletes:
            for a in decom:
                if a.verb in ("delete", "reclaim"):
                    a.status, a.error = "blocked", f"超过 --max-deletes {max_deletes}（本次共 {deletes} 个）"
                    result.blocked += 1
        carried_out = True
        if rule_plan.changes:
            outcome = engine.apply(rule_plan, actual)
            carried_out = outcome.ok
            status = {id(s.change): s for s in outcome.steps}
            why_not = next((f"not done: {s.error}" for s in outcome.untagged
                            if s.status == "failed"), "not done")
            for a in rule_acts:
                steps = [status[id(c)] for c in a.changes if id(c) in status]
                bad = [s for s in steps if s.status != "done"]
                a.status = "failed" if bad else "done"
                a.error = "; ".join(s.error or why_not for s in bad)
        else:
            for a in rule_acts:
                a.status = "done"
        if carried_out:  # a fingerprint only for a project that now equals the forms
            engine.record_fingerprints([f for f in enforce.converged(full, rule_plan)
                                        if f.system not in due])  # due: read every pass
        runner = Decommissioner(engine)
        failed_forms: set[str] = set()
        # 第十五条: a notice's shutdown/data-copy commands run through the bastion before
        # any of its hosts is powered off (issue 15, cgcloud/cli_bastion.py)
        from cgcloud.cli_bastion import poweroff_gate

        gate = poweroff_gate(repo, decom, when, engine.audit.path, paths, bastions)
        hosts: dict[str, list[dict[str, Any]]] = {}
        reclaimed: dict[str, dict[str, Any]] = {}
        for a in decom:
            if a.verb == "report":
                a.status = "reported"
                continue
            if a.status == "blocked":
                continue
            if a.form in failed_forms:
                a.status, a.error = "failed", "同一关停通知单的前一步失败，未执行"
                continue
            if a.verb == "poweroff" and a.form in gate:
                a.status, a.error = "failed", gate[a.form]
                failed_forms.add(a.form)
                continue
            try:
                runner.run(a, when)
                a.status = "done"
            except Exception as exc:  # noqa: BLE001 - EngineError and timeouts alike
                a.status, a.error = "failed", str(exc)
                failed_forms.add(a.form)
                continue
            if a.verb == "delete" and a.data.get("record"):
                hosts.setdefault(a.form, []).append(a.data["record"])
            if a.verb == "reclaim":
                reclaimed[a.form] = {"at": when.isoformat(),
                                     "groups": [g.name for g in a.data["groups"]],
                                     "project": a.data["project"].name}
        systems = {n.id: n.system for n in repo.shutdowns}
        for form in sorted(set(hosts) | set(reclaimed)):
            result.records.extend(write_record(records, engine.cloud, form, systems.get(form, ""),
                                               hosts.get(form, []), when, reclaimed.get(form)))
        for a in result.actions:
            if a.status == "planned":
                a.status = "reported"
    finally:
        try:
            engine.release_lock()
        except Exception as exc:  # noqa: BLE001
            _err(cloud_message(engine.cloud, exc, "警告: 释放锁失败（将在到期后失效）: {err}"))
    result.requests = engine.requests - r0
    result.seconds = time.monotonic() - t0
    return result


def write_record(directory: Path, cloud: str, form: str, system: str,
                 hosts: list[dict[str, Any]], when: datetime,
                 reclaimed: dict[str, Any] | None) -> list[Path]:
    """回收记录 as JSON and Markdown, merged with an earlier record of the same notice."""
    from cgcloud import enforce

    directory.mkdir(parents=True, exist_ok=True)
    base = directory / f"回收记录-{cloud}-{form}"
    js, md = base.with_suffix(".json"), base.with_suffix(".md")
    previous = json.loads(js.read_text(encoding="utf-8")) if js.exists() else None
    rec = enforce.reclaim_record(form, system, cloud, hosts, when, previous, reclaimed)
    js.write_text(json.dumps(rec, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md.write_text(enforce.reclaim_markdown(rec), encoding="utf-8")
    return [js, md]


_MARK = {"done": "", "failed": "失败 ", "blocked": "已阻止 ", "reported": "", "planned": ""}


def render(result: PassResult, fmt: str, cloud: str) -> str:
    if fmt == "json":
        return json.dumps({
            "format": "cgcloud-enforce/v1", "cloud": cloud, "now": result.now.isoformat(),
            "actions": [a.to_dict() for a in result.actions],
            "records": [str(x) for x in result.records],
            "requests": result.requests, "seconds": round(result.seconds, 3),
            "settled": result.settled},
            ensure_ascii=False, indent=2) + "\n"
    lines = []
    for a in result.actions:
        lines.append(f"{_MARK.get(a.status, '')}{a.message}")
        if a.error:
            lines.append(f"    {a.error}")
    acted = [a for a in result.actions if a.acts]
    if not acted:
        head = f"Enforce: nothing due at {result.now.isoformat()}"
    else:
        head = (f"Enforce: {len(result.done)} done, {len(result.failed)} failed, "
                f"{result.blocked} blocked at {result.now.isoformat()}")
    reported = sum(1 for a in result.actions if a.verb == "report")
    lines.append(f"{head}; {reported} reported ({result.requests} API requests, "
                 f"{result.seconds:.2f} s; {result.settled} settled systems not read)")
    lines.extend(f"回收记录: {x}" for x in result.records)
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

    def __init__(self, run: Callable[[datetime], datetime], now: Callable[[], datetime],
                 stop: threading.Event, wait: Callable[[float], bool] | None = None,
                 on_error: Callable[[Exception, float], None] | None = None,
                 retry_seconds: float = 30.0, backoff: Backoff | None = None):
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

    def __init__(self, engine: Any, ttl: timedelta):
        self.engine, self.ttl, self.held = engine, ttl, False

    def ensure(self) -> None:
        from cgcloud.engines.openstack import WATCH_LOCK_NAME, LockHeld

        if self.held:
            return
        try:
            self.engine.acquire_lock(ttl=self.ttl, name=WATCH_LOCK_NAME)
        except LockHeld as exc:
            raise PassError(_("enforce --watch: 另一个 enforce --watch 持有租约，稍后重试: {err}"
                              ).format(err=exc), EXIT_LOCKED) from None
        self.held = True
        _err(_("enforce --watch: 已取得租约 {name}").format(name=WATCH_LOCK_NAME))

    def renew(self) -> None:
        from cgcloud.engines.openstack import WATCH_LOCK_NAME, LockHeld

        try:
            self.engine.renew_lock(self.ttl, name=WATCH_LOCK_NAME)
        except LockHeld:
            self.held = False  # removed by someone else: take it again before the next pass
            raise

    def release(self) -> None:
        from cgcloud.engines.openstack import WATCH_LOCK_NAME

        if self.held:
            self.engine.release_lock(name=WATCH_LOCK_NAME)
            self.held = False


def shifted_clock(now: str | None) -> Callable[[], datetime]:
    """The real clock, or one that starts at --now and runs at real speed."""
    from cgcloud import clock

    if now is None:
        return lambda: clock.now_local(None)
    offset = clock.now_local(now) - clock.now_local(None)
    return lambda: clock.now_local(None) + offset


# --------------------------------------------------------------------------- commands


def enforce_cmd(
    paths: PathsArg = None,
    cloud: CloudOpt = "",
    now: NowOpt = None,
    watch: Annotated[bool, typer.Option("--watch", help="Run as a long-lived loop "
                                        "(SIGTERM/SIGINT stop it after the current pass).")] = False,
    interval: Annotated[float, typer.Option("--interval", min=1.0,
                                            help="Seconds between passes with --watch (a pass "
                                            "also runs at every window boundary).")] = 60.0,
    max_deletes: Annotated[int, typer.Option(
        "--max-deletes", help="Refuse decommission deletions when a pass would delete more "
        "servers, volumes, ports, floating IPs and groups than this.")] = DEFAULT_MAX_DELETES,
    records: Annotated[Path | None, typer.Option(
        "--records", help="Directory of reclaim records (回收记录, JSON + Markdown); default "
        "$CGCLOUD_RECORDS_DIR or ~/.local/state/cgcloud/records.")] = None,
    audit_log: Annotated[Path | None, typer.Option(
        "--audit-log", help="JSON-lines audit log (default as for apply).")] = None,
    output: Annotated[Format, typer.Option("--format", "-f", help="text or json")] = Format.text,
    textfile_path: Annotated[Path | None, typer.Option(
        "--textfile", help="After every pass, write its result (time, success, duration, API "
        "requests, actions) to PATH for node-exporter's textfile collector (atomic; see "
        "docs/metrics.md). With --watch this is how 'enforce has not run' alerts see it.")] = None,
    timeout: TimeoutOpt = None,
    bastions: Annotated[bool, typer.Option(
        "--bastions", help="Also reconcile the bastions of bastions.yaml (docs/bastion.md): "
        "access whose window ended is removed, access whose window began is written.")] = False,
) -> None:
    """Perform every time-driven action due now, and nothing else, each with its reason.

    Opens rules whose window started, closes rules whose window ended, advances
    decommissions (power off, keep seven full days, delete, reclaim record),
    reports lapsed approvals. Exit codes: 0 done (or nothing due), 1 error or a
    failed action, 3 deletions refused by --max-deletes, 4 cloud locked, 64 usage error.
    """
    from cgcloud import clock, enforce

    try:
        clock_fn = shifted_clock(now)
        first = clock.now_local(now)
    except clock.ClockError as exc:
        _err(f"错误: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    from cgcloud.cli_runtime import require_paths

    require_paths(paths or [Path("policies")])  # a usage error before connecting
    engine = _engine(cloud, audit_log, timeout)
    rec_dir = records or default_records_dir()

    bastion_failed: list[datetime] = []

    def one(when: datetime, before: Callable[[], None] | None = None) -> PassResult:
        started, t0 = time.time(), time.monotonic()
        result: PassResult | None = None
        try:
            if before is not None:
                before()  # --watch: its lease (a pass it keeps from running is a failed run)
            result = run_pass(engine, paths, when, max_deletes=max_deletes, records=rec_dir,
                              bastions=bastions)
            sys.stdout.write(render(result, output.value, cloud))
            sys.stdout.flush()
            if bastions:  # issue 15: cgcloud/cli_bastion.py
                from cgcloud.cli_bastion import enforce_pass

                if not enforce_pass(paths, when, audit_log):
                    bastion_failed.append(when)
            return result
        finally:
            if textfile_path is not None:
                _record_pass(textfile_path, cloud, result, started, time.monotonic() - t0)

    if not watch:
        from cgcloud.cli import _exit  # skips tearing down a large model (validate does too)

        try:
            result = one(first)
        except PassError as exc:
            _err(str(exc))
            raise typer.Exit(exc.code) from None
        except Exception as exc:  # noqa: BLE001
            _err(cloud_message(cloud, exc))
            raise typer.Exit(EXIT_ERROR) from None
        if result.failed or bastion_failed:
            _exit(EXIT_ERROR)
        if result.blocked:
            _err(f"错误: 删除被 --max-deletes {max_deletes} 阻止；核对后用更大的值重新运行")
            _exit(EXIT_DELETE_GUARD)
        _exit(EXIT_OK)

    ttl = timedelta(seconds=max(300.0, 3 * interval))
    lease = Lease(engine, ttl)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        _err(_("enforce --watch: 收到信号 {sig}，本轮结束后退出").format(
            sig=signal.Signals(signum).name))
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    def run(when: datetime) -> datetime:
        try:
            result = one(when, before=lease.ensure)
        except Exception:
            if lease.held:
                with contextlib.suppress(Exception):  # the pass's error is the one to report
                    lease.renew()
            raise
        lease.renew()
        return enforce.next_wakeup(result.repo, clock_fn(), interval, result.marks)

    def on_error(exc: Exception, delay: float) -> None:
        text = str(exc) if isinstance(exc, PassError) else cloud_message(cloud, exc)
        _err(_("{err}（{s:.0f} 秒后重试）").format(err=text, s=delay))

    try:
        Watch(run, clock_fn, stop, on_error=on_error, retry_seconds=min(interval, 60.0)).loop()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        try:
            lease.release()
        except Exception as exc:  # noqa: BLE001
            _err(cloud_message(cloud, exc, "警告: 释放 watch 租约失败（将在到期后失效）: {err}"))
    _err(_("enforce --watch: 已停止"))


def _record_pass(
    path: Path, cloud: str, result: PassResult | None, started: float, seconds: float
) -> None:
    """One pass as a textfile run: failed when it raised, an action failed, or deletions
    were refused by --max-deletes."""
    from cgcloud import textfile

    if result is None:
        run = textfile.RunResult("enforce", cloud, False, started, seconds, errors=1, exit_code=EXIT_ERROR)
    else:
        code = EXIT_ERROR if result.failed else EXIT_DELETE_GUARD if result.blocked else EXIT_OK
        run = textfile.RunResult(
            "enforce", cloud, code == 0, started, seconds,
            requests=result.requests, errors=len(result.failed),
            changes={"done": len(result.done), "failed": len(result.failed)}, exit_code=code,
        )
    textfile.write_run(path, run)


def upcoming_cmd(
    paths: PathsArg = None,
    days: Annotated[int, typer.Option("--days", min=1, help="How many days ahead.")] = 7,
    now: NowOpt = None,
    cloud: Annotated[str, typer.Option(
        "--cloud", help="Optional: read recorded power-off times for exact deletion dates.")] = "",
    output: Annotated[Format, typer.Option("--format", "-f", help="text or json")] = Format.text,
    timeout: TimeoutOpt = None,
) -> None:
    """What will open, close, power off, be deleted or lapse in the coming days."""
    from cgcloud import clock, enforce
    from cgcloud.engines.decommission import read_inventory

    try:
        when = clock.now_local(now)
        repo = _load(paths, when)
    except clock.ClockError as exc:
        _err(f"错误: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except PassError as exc:
        _err(str(exc))
        raise typer.Exit(exc.code) from None
    found = None
    if cloud:
        engine = _engine(cloud, timeout=timeout)
        try:
            # only the projects and the servers' marks: no Neutron groups
            actual = engine.read(None, network_only=True, scope=set())
            found = enforce.marks(read_inventory(engine, actual, set()))
        except Exception as exc:  # noqa: BLE001
            _err(cloud_message(cloud, exc))
            raise typer.Exit(EXIT_ERROR) from None
    events = enforce.upcoming(repo, when, days, found)
    if output == Format.json:
        sys.stdout.write(json.dumps({"format": "cgcloud-upcoming/v1", "now": when.isoformat(),
                                     "days": days, "events": [e.to_dict() for e in events]},
                                    ensure_ascii=False, indent=2) + "\n")
        return
    if not events:
        typer.echo(f"未来 {days} 天（{when.isoformat()} 起）没有到期的动作")
        return
    day = None
    for e in events:
        d = e.at.date()
        if d != day:
            typer.echo(f"{d.isoformat()}（{e.at.strftime('%H:%M')} 起）")
            day = d
        typer.echo(f"  {e.message}")


def register(app: typer.Typer) -> None:
    """Add `enforce` and `upcoming` to the main app."""
    app.command("enforce")(enforce_cmd)
    app.command("upcoming")(upcoming_cmd)
