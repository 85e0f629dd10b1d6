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
    BackendOpt,
    CloudOpt,
    EngineOpt,
    NowOpt,
    PathsArg,
    PlanFormat,
    StackOpt,
    TimeoutOpt,
    engine_options,
    error,
    error_text,
    fail,
    usage,
    warning,
)
from cgcloud.cli.options import err as _err
from cgcloud.i18n import N_, _


def _prepare(paths: list[Path] | None, now: str | None) -> tuple[Any, Any]:
    """Validate (refusing on any error): the time and the repository to compile."""
    from cgcloud import clock, report
    from cgcloud import validate as pipeline
    from cgcloud.findings import has_errors
    from cgcloud.loader import UsageError

    try:
        when = clock.now_local(now)
    except clock.ClockError as exc:
        raise usage(exc) from None
    try:
        v = pipeline.validate(paths or [Path("policies")], when)
    except UsageError as exc:
        raise usage(exc) from None
    if has_errors(v.findings):
        sys.stderr.write(report.render(v, "text"))
        raise fail(_("表单校验未通过，拒绝生成计划（先运行 cgcloud validate 修正错误）"))
    return when, v.repo


def _engine(
    name: str,
    cloud: str,
    audit_log: Path | None = None,
    timeout: float | None = None,
    options: dict[str, str] | None = None,
) -> Any:
    """The engine ``name`` (registry: cgcloud/engines/__init__.py) connected to ``cloud``.
    ``options``: the engine's own (--stack, --backend: Pulumi's only)."""
    from cgcloud import engines
    from cgcloud.engines.audit import AuditLog
    from cgcloud.engines.base import EngineUnavailable

    if name not in engines.REGISTRY:
        raise usage(unknown_engine(name))
    if options and name != "pulumi":
        raise usage(_("--stack 和 --backend 只用于 --engine pulumi"))
    if not cloud:
        raise usage(_("请用 --cloud NAME 或环境变量 OS_CLOUD 指定云（clouds.yaml 中的名字）"))
    try:
        return engines.create(
            name,
            cloud,
            audit_path=audit_log or AuditLog.default_path(),
            timeout=timeout,
            options=options,
        )
    except EngineUnavailable as exc:  # the engine cannot run here: what to install, as it is
        raise fail(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - openstacksdk config errors have many types
        reason = cloud_reason(exc)
        if cloud in reason:  # the message names the cloud already
            raise fail(reason) from None
        raise fail(_("无法连接云 {cloud}: {err}").format(cloud=cloud, err=reason)) from None


def unknown_engine(name: str) -> str:
    from cgcloud import engines

    return _("未知的引擎 {name}（可选: {names}）").format(
        name=name, names=", ".join(engines.names())
    )


def cloud_reason(exc: BaseException) -> str:
    """A failure that came from the cloud side in one line, redacted of credentials:
    cgcloud's own errors (in the user's language, naming service and endpoint) as they
    are, anything else with its type."""
    from cgcloud.engines.base import CloudConfigError, EngineError
    from cgcloud.redact import redact

    if isinstance(exc, CloudConfigError | EngineError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact(" ".join(text.split()))


def cloud_message(cloud: str, exc: BaseException) -> str:
    """The error line for a failure on the cloud side, naming the cloud once."""
    reason = cloud_reason(exc)
    if cloud in reason:  # the message names the cloud already
        return error_text(reason)
    return error_text(_("云 {cloud}: {err}").format(cloud=cloud, err=reason))


def _planned(engine: Any, state: Any, actual: Any, cloud: str) -> Any:
    """The plan: an engine with a planner of its own (Pulumi's preview) answers itself;
    for the others it is cgcloud's diff of the desired and the actual state."""
    from cgcloud import plan as planner
    from cgcloud.engines.base import Previewing

    if isinstance(engine, Previewing):
        return engine.preview(state, actual)
    return planner.diff(state, actual, cloud=cloud)


def _cloud_error(cloud: str, exc: Exception) -> typer.Exit:
    _err(cloud_message(cloud, exc))
    return typer.Exit(EXIT_ERROR)


def plan_cmd(
    paths: PathsArg = None,
    cloud: CloudOpt = "",
    engine_name: EngineOpt = "openstack",
    stack: StackOpt = None,
    backend: BackendOpt = None,
    now: NowOpt = None,
    output: Annotated[
        PlanFormat, typer.Option("--format", "-f", help=N_("text、markdown 或 json"))
    ] = PlanFormat.text,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode",
            help=N_("退出码 0 = 无变更，2 = 有变更，1 = 错误，64 = 用法错误。"),
        ),
    ] = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Validate, compile, read the cloud, diff, render (PLAN_HELP)."""
    from cgcloud import desired
    from cgcloud import plan as planner
    from cgcloud.engines.base import LockHeld

    when, repo = _prepare(paths, now)
    engine = _engine(engine_name, cloud, timeout=timeout, options=engine_options(stack, backend))
    state = desired.compile(repo, when, engine.quota_room)
    try:
        actual = engine.read(state)
        result = _planned(engine, state, actual, cloud)
    except LockHeld as exc:  # a planner's own lock (a Pulumi stack another update holds)
        error(str(exc))
        raise typer.Exit(EXIT_LOCKED) from None
    except Exception as exc:  # noqa: BLE001
        raise _cloud_error(cloud, exc) from None
    sys.stdout.write(planner.render(result, output.value))
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def apply_cmd(
    paths: PathsArg = None,
    cloud: CloudOpt = "",
    engine_name: EngineOpt = "openstack",
    stack: StackOpt = None,
    backend: BackendOpt = None,
    now: NowOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=N_("不询问确认。"))] = False,
    max_deletes: Annotated[
        int,
        typer.Option("--max-deletes", help=N_("计划删除的资源多于此数时拒绝执行。")),
    ] = DEFAULT_MAX_DELETES,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            "--audit-log",
            help=N_(
                "JSON-lines 格式的审计日志（默认 $CGCLOUD_AUDIT_LOG 或 "
                "~/.local/state/cgcloud/audit.jsonl）。"
            ),
        ),
    ] = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Plan, guard, confirm and apply under the cloud's lock (APPLY_HELP)."""
    from cgcloud import desired
    from cgcloud import plan as planner
    from cgcloud.engines.base import LockHeld

    when, repo = _prepare(paths, now)
    engine = _engine(engine_name, cloud, audit_log, timeout, engine_options(stack, backend))
    state = desired.compile(repo, when, engine.quota_room)
    textfile.note(engine=engine)  # --textfile (cgcloud/textfile.py): request counts
    try:
        engine.acquire_lock()
    except LockHeld as exc:
        raise fail(exc, EXIT_LOCKED) from None
    except Exception as exc:  # noqa: BLE001
        raise _cloud_error(cloud, exc) from None
    try:
        actual = engine.read(state)
        result = _planned(engine, state, actual, cloud)
        sys.stdout.write(planner.render_text(result))
        if not result.has_changes:
            _record_fingerprints(engine, result, None)
            return
        _guard_and_confirm(result, max_deletes, yes)

        def progress(phase: str, done: int, total: int) -> None:
            if done == total or done % max(1, total // 10) == 0:
                _err(f"  {phase}: {done}/{total}")  # the engine's phase names

        stop = threading.Event()
        with _signals_stop(stop) as signals:
            outcome = engine.apply(state, result, actual, progress=progress, stop=stop)
        textfile.note(outcome=outcome)
        if outcome.ok and not signals:  # only a cloud equal to the forms gets fingerprints
            _record_fingerprints(engine, result, outcome)
    except typer.Exit:
        raise
    except LockHeld as exc:  # a planner's own lock (a Pulumi stack another update holds)
        error(str(exc))
        raise typer.Exit(EXIT_LOCKED) from None
    except KeyboardInterrupt:  # before any change was started (reading, at the prompt)
        _err(_("已中断：没有做任何变更"))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # noqa: BLE001
        raise _cloud_error(cloud, exc) from None
    finally:
        try:
            engine.release_lock()
        except Exception as exc:  # noqa: BLE001
            warning(_("释放锁失败（将在到期后失效）: {err}").format(err=cloud_reason(exc)))
    typer.echo(
        _(
            "已应用: 完成 {done} 项，失败 {failed} 项，未执行 {left} 项"
            "（{requests} 次 API 请求，{seconds} 秒）；审计日志: {log}"
        ).format(
            done=len(outcome.done),
            failed=len(outcome.failed),
            left=len(outcome.not_done),
            requests=outcome.requests,
            seconds=f"{outcome.seconds:.1f}",
            log=engine.audit_path,
        )
    )
    if not outcome.ok or signals:
        _report_failures(outcome, signals)
        if signals:
            raise typer.Exit(EXIT_INTERRUPTED)
        raise typer.Exit(EXIT_ERROR)


def _guard_and_confirm(plan: Any, max_deletes: int, yes: bool) -> None:
    """The delete guard, then the question (refused without a terminal unless --yes)."""
    if plan.deletes > max_deletes:
        raise fail(
            _(
                "计划删除 {n} 个资源，超过 --max-deletes {max}；"
                "确认无误后用 --max-deletes {n} 重新运行"
            ).format(n=plan.deletes, max=max_deletes),
            EXIT_DELETE_GUARD,
        )
    if yes:
        return
    if not sys.stdin.isatty():
        raise fail(_("非交互环境请加 --yes 确认执行"), EXIT_DECLINED)
    if not typer.confirm(_("执行以上变更？"), default=False):
        _err(_("已取消"))
        raise typer.Exit(EXIT_DECLINED)


def _report_failures(outcome: Any, signals: list[str]) -> None:
    """What was done (when interrupted), failed and not done, then what to do."""
    for s in outcome.done if signals else []:
        _err(_("  已完成 {change}").format(change=_change(s)))
    for s in outcome.failed:
        _err(_("  失败   {change}: {error}").format(change=_change(s), error=s.error))
    for s in outcome.not_done:
        _err(_("  未执行 {change}").format(change=_change(s)))
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
    error(_("执行中断；修复原因后重新运行 cgcloud apply 即可收敛"))


def _change(step: Any) -> str:
    """A change as the plan names it: action, kind, name (plan vocabulary, untranslated)."""
    return f"{step.change.action} {step.change.kind} {step.change.name}"


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
        warning(
            _(
                "{n} 个项目的规则指纹未能记录（{reason}）；"
                "enforce 将完整读取这些项目，下次 apply 会重试"
            ).format(n=len(bad), reason=bad[0].error or _("未执行"))
        )


PLAN_HELP = N_(
    "显示 apply 将在云上创建、修改和删除什么，并说明理由。\n\n"
    "先校验表单，有任何错误即拒绝。读取云时列表调用次数固定（不按规则逐条读取）。"
    "先给汇总，再按系统列出。"
)
APPLY_HELP = N_(
    "校验、生成计划、确认，使云与已批准的表单一致。\n\n"
    "每个云同一时间只有一个 apply（Keystone 中的租约）。每项变更写入审计日志。"
    "退出码：0 完成，1 错误或部分失败，3 删除保护，4 云被他人锁定，5 未确认，64 用法错误。"
)


def register(app: typer.Typer) -> None:
    """Add `plan` and `apply` to the main app."""
    app.command("plan", help=PLAN_HELP)(plan_cmd)
    app.command("apply", help=APPLY_HELP)(textfile.recorded("apply")(apply_cmd))  # adds --textfile
