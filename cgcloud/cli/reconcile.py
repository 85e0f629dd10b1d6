"""`cgcloud plan` and `cgcloud apply`: the reconcile commands.

Nothing heavy (openstacksdk) is imported until a command runs; the engine is picked
by name (``--engine``) from the registry in ``cgcloud.engines``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud import textfile
from cgcloud.cli.options import (
    DEFAULT_MAX_DELETES,
    EXIT_CHANGES,
    EXIT_DECLINED,
    EXIT_DELETE_GUARD,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_USAGE,
    CloudOpt,
    EngineOpt,
    NowOpt,
    PathsArg,
    PlanFormat,
    TimeoutOpt,
)
from cgcloud.cli.options import err as _err
from cgcloud.i18n import _


def _prepare(paths: list[Path] | None, now: str | None) -> tuple[Any, Any]:
    """Validate (refusing on any error): the time and the repository to compile."""
    from cgcloud import clock, report
    from cgcloud import validate as pipeline
    from cgcloud.findings import has_errors
    from cgcloud.loader import UsageError

    try:
        when = clock.now_local(now)
    except clock.ClockError as exc:
        _err(f"错误: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    try:
        v = pipeline.validate(paths or [Path("policies")], when)
    except UsageError as exc:
        _err(f"错误: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    if has_errors(v.findings):
        sys.stderr.write(report.render(v, "text"))
        _err("错误: 表单校验未通过，拒绝生成计划（先运行 cgcloud validate 修正错误）")
        raise typer.Exit(EXIT_ERROR)
    return when, v.repo


def _engine(
    name: str, cloud: str, audit_log: Path | None = None, timeout: float | None = None
) -> Any:
    """The engine ``name`` (registry: cgcloud/engines/__init__.py) connected to ``cloud``."""
    from cgcloud import engines
    from cgcloud.engines.audit import AuditLog

    if name not in engines.REGISTRY:
        _err(f"错误: 未知的引擎 {name}（可选: {', '.join(engines.names())}）")
        raise typer.Exit(EXIT_USAGE)
    if not cloud:
        _err("错误: 请用 --cloud NAME 或环境变量 OS_CLOUD 指定云（clouds.yaml 中的名字）")
        raise typer.Exit(EXIT_USAGE)
    try:
        return engines.create(
            name, cloud, audit_path=audit_log or AuditLog.default_path(), timeout=timeout
        )
    except Exception as exc:  # noqa: BLE001 - openstacksdk config errors have many types
        _err(cloud_message(cloud, exc, "错误: 无法连接云 {cloud}: {err}"))
        raise typer.Exit(EXIT_ERROR) from None


def cloud_message(cloud: str, exc: BaseException, template: str = "错误: 云 {cloud}: {err}") -> str:
    """One line for a failure that came from the cloud side, redacted of credentials:
    cgcloud's own errors (already in Chinese, naming service and endpoint) as they are,
    anything else with its type."""
    from cgcloud.engines.base import CloudConfigError, EngineError
    from cgcloud.redact import redact

    if isinstance(exc, CloudConfigError | EngineError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = redact(" ".join(text.split()))
    if f"云 {cloud} " in text and template.startswith("错误: "):
        return f"错误: {text}"  # the message names the cloud already
    return template.format(cloud=cloud, err=text)


def _cloud_error(cloud: str, exc: Exception) -> typer.Exit:
    _err(cloud_message(cloud, exc))
    return typer.Exit(EXIT_ERROR)


def plan_cmd(
    paths: PathsArg = None,
    cloud: CloudOpt = "",
    engine_name: EngineOpt = "openstack",
    now: NowOpt = None,
    output: Annotated[
        PlanFormat, typer.Option("--format", "-f", help="text, markdown or json")
    ] = PlanFormat.text,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help="Exit 0 = no changes, 2 = changes, 1 = error, 64 = usage error.",
        ),
    ] = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Show what apply would create, change and delete on a cloud, with reasons.

    Validates first and refuses on any error. Reads the cloud with a fixed
    number of list calls (not one per rule). Summary first, then per system.
    """
    from cgcloud import desired
    from cgcloud import plan as planner

    when, repo = _prepare(paths, now)
    engine = _engine(engine_name, cloud, timeout=timeout)
    state = desired.compile(repo, when, engine.quota_room)
    try:
        actual = engine.read(state)
    except Exception as exc:  # noqa: BLE001
        raise _cloud_error(cloud, exc) from None
    result = planner.diff(state, actual, cloud=cloud)
    sys.stdout.write(planner.render(result, output.value))
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def apply_cmd(
    paths: PathsArg = None,
    cloud: CloudOpt = "",
    engine_name: EngineOpt = "openstack",
    now: NowOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    max_deletes: Annotated[
        int,
        typer.Option(
            "--max-deletes", help="Refuse when the plan deletes more than this many resources."
        ),
    ] = DEFAULT_MAX_DELETES,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            "--audit-log",
            help="JSON-lines audit log (default $CGCLOUD_AUDIT_LOG or "
            "~/.local/state/cgcloud/audit.jsonl).",
        ),
    ] = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Validate, plan, confirm, and make the cloud equal to the approved forms.

    One apply per cloud at a time (a lease in Keystone). Every change goes to the
    audit log. Exit codes: 0 done, 1 error or partial failure, 3 delete guard,
    4 cloud locked by someone else, 5 not confirmed, 64 usage error.
    """
    from cgcloud import desired
    from cgcloud import plan as planner
    from cgcloud.engines.base import LockHeld

    when, repo = _prepare(paths, now)
    engine = _engine(engine_name, cloud, audit_log, timeout)
    state = desired.compile(repo, when, engine.quota_room)
    textfile.note(engine=engine)  # --textfile (cgcloud/textfile.py): request counts
    try:
        engine.acquire_lock()
    except LockHeld as exc:
        _err(f"错误: {exc}")
        raise typer.Exit(EXIT_LOCKED) from None
    except Exception as exc:  # noqa: BLE001
        raise _cloud_error(cloud, exc) from None
    try:
        actual = engine.read(state)
        result = planner.diff(state, actual, cloud=cloud)
        sys.stdout.write(planner.render_text(result))
        if not result.has_changes:
            _record_fingerprints(engine, result, None)
            return
        _guard_and_confirm(result, max_deletes, yes)

        def progress(phase: str, done: int, total: int) -> None:
            if done == total or done % max(1, total // 10) == 0:
                _err(f"  {phase}: {done}/{total}")

        stop = threading.Event()
        with _signals_stop(stop) as signals:
            outcome = engine.apply(state, result, actual, progress=progress, stop=stop)
        textfile.note(outcome=outcome)
        if outcome.ok and not signals:  # only a cloud equal to the forms gets fingerprints
            _record_fingerprints(engine, result, outcome)
    except typer.Exit:
        raise
    except KeyboardInterrupt:  # before any change was started (reading, at the prompt)
        _err(_("已中断：没有做任何变更"))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001
        raise _cloud_error(cloud, exc) from None
    finally:
        try:
            engine.release_lock()
        except Exception as exc:  # noqa: BLE001
            _err(cloud_message(cloud, exc, "警告: 释放锁失败（将在到期后失效）: {err}"))
    typer.echo(
        f"Applied: {len(outcome.done)} done, {len(outcome.failed)} failed, "
        f"{len(outcome.not_done)} not done ({outcome.requests} API requests, "
        f"{outcome.seconds:.1f} s); audit log: {engine.audit_path}"
    )
    if not outcome.ok or signals:
        _report_failures(outcome, signals)
        if signals:
            raise typer.Exit(EXIT_INTERRUPTED)
        raise typer.Exit(EXIT_ERROR)


def _guard_and_confirm(plan: Any, max_deletes: int, yes: bool) -> None:
    """The delete guard, then the question (refused without a terminal unless --yes)."""
    if plan.deletes > max_deletes:
        _err(
            f"错误: 计划删除 {plan.deletes} 个资源，超过 --max-deletes {max_deletes}；"
            f"确认无误后用 --max-deletes {plan.deletes} 重新运行"
        )
        raise typer.Exit(EXIT_DELETE_GUARD)
    if yes:
        return
    if not sys.stdin.isatty():
        _err("错误: 非交互环境请加 --yes 确认执行")
        raise typer.Exit(EXIT_DECLINED)
    if not typer.confirm("Apply these changes?", default=False):
        _err("已取消")
        raise typer.Exit(EXIT_DECLINED)


def _report_failures(outcome: Any, signals: list[str]) -> None:
    """What was done (when interrupted), failed and not done, then what to do."""
    for s in outcome.done if signals else []:
        _err(f"  DONE     {s.change.action} {s.change.kind} {s.change.name}")
    for s in outcome.failed:
        _err(f"  FAILED   {s.change.action} {s.change.kind} {s.change.name}: {s.error}")
    for s in outcome.not_done:
        _err(f"  NOT DONE {s.change.action} {s.change.kind} {s.change.name}")
    if signals:
        _err(
            _(
                "已中断（{sig}）：完成 {done} 项，失败 {failed} 项，未执行 {left} 项（见审计日志）；"
                "重新运行 cgcloud apply 即可收敛"
            ).format(
                sig=signals[0],
                done=len(outcome.done),
                failed=len(outcome.failed),
                left=len(outcome.not_done),
            )
        )
        return
    _err("错误: 执行中断；修复原因后重新运行 cgcloud apply 即可收敛")


@contextlib.contextmanager
def _signals_stop(stop: threading.Event) -> Iterator[list[str]]:
    """While changes are being made, SIGINT/SIGTERM set ``stop`` instead of killing the
    process mid-request: the requests in flight end (each bounded by the time-outs),
    nothing new starts, and the caller reports what was and wasn't done. The yielded
    list holds the names of the signals received."""
    got: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def on_signal(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if not got:
            _err(_("收到 {sig}：不再开始新的变更，等待进行中的请求结束…").format(sig=name))
        got.append(name)
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield got
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _record_fingerprints(engine: Any, plan: Any, outcome: Any) -> None:
    """Tag each project whose rules now equal the forms, so that `cgcloud enforce`
    can skip it until its wanted rules change (docs/enforce.md). A failure here
    costs later enforce passes time, never correctness: it is a warning."""
    if not plan.fingerprints:
        return
    steps = engine.record_fingerprints(plan.fingerprints, outcome)
    bad = [s for s in steps if s.status != "done"]
    if bad:
        _err(
            f"警告: {len(bad)} 个项目的规则指纹未能记录（{bad[0].error or 'not done'}）；"
            "enforce 将完整读取这些项目，下次 apply 会重试"
        )


def register(app: typer.Typer) -> None:
    """Add `plan` and `apply` to the main app."""
    app.command("plan")(plan_cmd)
    app.command("apply")(textfile.recorded("apply")(apply_cmd))  # adds --textfile
