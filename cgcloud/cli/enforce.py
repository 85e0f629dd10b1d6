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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.cli.options import (
    DEFAULT_MAX_DELETES,
    EXIT_DELETE_GUARD,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    BackendOpt,
    CloudOpt,
    EngineOpt,
    Format,
    NowOpt,
    PathsArg,
    StackOpt,
    TimeoutOpt,
    engine_options,
    error,
    error_text,
    exit_now,
    usage,
    warning,
)
from cgcloud.cli.options import err as _err
from cgcloud.cli.reconcile import _engine, cloud_message, cloud_reason
from cgcloud.enforce_pass import (
    Lease,
    PassError,
    PassResult,
    Watch,
    render,
    run_pass,
    shifted_clock,
)
from cgcloud.i18n import N_, _


def default_records_dir() -> Path:
    """$CGCLOUD_RECORDS_DIR, else next to the audit log: ~/.local/state/cgcloud/records."""
    from cgcloud.statedir import state_path

    return state_path("CGCLOUD_RECORDS_DIR", "records")


def _load(paths: list[Path] | None, when: datetime) -> Any:
    from cgcloud import report
    from cgcloud import validate as pipeline
    from cgcloud.findings import has_errors
    from cgcloud.loader import UsageError

    try:
        v = pipeline.validate(paths or [Path("policies")], when)
    except UsageError as exc:
        raise PassError(error_text(exc), EXIT_USAGE) from None
    if has_errors(v.findings):
        sys.stderr.write(report.render(v, "text"))
        raise PassError(
            error_text(_("表单校验未通过，不执行（先运行 cgcloud validate 修正错误）")), EXIT_ERROR
        )
    return v.repo


# --------------------------------------------------------------------------- commands


def enforce_cmd(
    paths: PathsArg = None,
    cloud: CloudOpt = "",
    engine_name: EngineOpt = "openstack",
    stack: StackOpt = None,
    backend: BackendOpt = None,
    now: NowOpt = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help=N_("作为长期运行的循环执行（SIGTERM/SIGINT 在当前一轮结束后停止它）。"),
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=1.0,
            help=N_("--watch 时两轮之间的秒数（每个时间窗口的边界也会运行一轮）。"),
        ),
    ] = 60.0,
    max_deletes: Annotated[
        int,
        typer.Option(
            "--max-deletes",
            help=N_("一轮要删除的云主机、卷、端口、浮动 IP 和安全组多于此数时，拒绝下线删除。"),
        ),
    ] = DEFAULT_MAX_DELETES,
    records: Annotated[
        Path | None,
        typer.Option(
            "--records",
            help=N_(
                "回收记录目录（JSON + Markdown）；默认 "
                "$CGCLOUD_RECORDS_DIR 或 ~/.local/state/cgcloud/records。"
            ),
        ),
    ] = None,
    audit_log: Annotated[
        Path | None,
        typer.Option("--audit-log", help=N_("JSON-lines 格式的审计日志（默认与 apply 相同）。")),
    ] = None,
    output: Annotated[
        Format, typer.Option("--format", "-f", help=N_("text 或 json"))
    ] = Format.text,
    textfile_path: Annotated[
        Path | None,
        typer.Option(
            "--textfile",
            help=N_(
                "每轮结束后把结果（时间、是否成功、耗时、API 请求数、动作数）写入 PATH，"
                "供 node-exporter 的 textfile 收集器读取（原子写入；见 docs/metrics.md）。"
                "配合 --watch，“enforce 未运行”告警就靠它发现。"
            ),
        ),
    ] = None,
    timeout: TimeoutOpt = None,
    bastions: Annotated[
        bool,
        typer.Option(
            "--bastions",
            help=N_(
                "同时调和 bastions.yaml 中的堡垒机（docs/bastion.md）："
                "窗口已结束的访问被删除，窗口已开始的访问被写入。"
            ),
        ),
    ] = False,
) -> None:
    """One pass, or the --watch loop (ENFORCE_HELP)."""
    from cgcloud import clock

    try:
        clock_fn = shifted_clock(now)
        first = clock.now_local(now)
    except clock.ClockError as exc:
        raise usage(exc) from None
    from cgcloud.cli.runtime import require_paths

    require_paths(paths or [Path("policies")])  # a usage error before connecting
    engine = _engine(engine_name, cloud, audit_log, timeout, engine_options(stack, backend))
    rec_dir = records or default_records_dir()
    bastion_failed: list[datetime] = []

    def gate(repo: Any, decom: list[Any], when: datetime) -> dict[str, str]:
        """第十五条: a notice's shutdown/data-copy commands run through the bastion before
        any of its hosts is powered off (issue 15, cgcloud/cli/bastion.py)."""
        from cgcloud.cli.bastion import poweroff_gate

        return poweroff_gate(repo, decom, when, engine.audit_path, paths, bastions)

    def one(when: datetime, before: Callable[[], None] | None = None) -> PassResult:
        started, t0 = time.time(), time.monotonic()
        result: PassResult | None = None
        try:
            if before is not None:
                before()  # --watch: its lease (a pass it keeps from running is a failed run)
            result = run_pass(
                engine,
                lambda w: _load(paths, w),
                when,
                max_deletes=max_deletes,
                records=rec_dir,
                warn=_err,
                poweroff_gate=gate,
            )
            sys.stdout.write(render(result, output.value, cloud))
            sys.stdout.flush()
            if bastions:  # issue 15: cgcloud/cli/bastion.py
                from cgcloud.cli.bastion import enforce_pass

                if not enforce_pass(paths, when, audit_log):
                    bastion_failed.append(when)
            return result
        finally:
            if textfile_path is not None:
                _record_pass(textfile_path, cloud, result, started, time.monotonic() - t0)

    if not watch:
        try:
            result = one(first)
        except PassError as exc:
            _err(str(exc))
            raise typer.Exit(exc.code) from None
        except Exception as exc:  # noqa: BLE001
            _err(cloud_message(cloud, exc))
            raise typer.Exit(EXIT_ERROR) from None
        if result.failed or bastion_failed:
            exit_now(EXIT_ERROR)
        if result.blocked:
            error(
                _("删除被 --max-deletes {max} 阻止；核对后用更大的值重新运行").format(
                    max=max_deletes
                )
            )
            exit_now(EXIT_DELETE_GUARD)
        exit_now(EXIT_OK)

    _watch(engine, one, clock_fn, interval, cloud)


def _watch(
    engine: Any,
    one: Callable[..., PassResult],
    clock_fn: Callable[[], datetime],
    interval: float,
    cloud: str,
) -> None:
    """`enforce --watch`: the loop under its own lease until SIGTERM/SIGINT."""
    from cgcloud import enforce

    ttl = timedelta(seconds=max(300.0, 3 * interval))
    lease = Lease(engine, ttl, say=_err)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        _err(
            _("enforce --watch: 收到信号 {sig}，本轮结束后退出").format(
                sig=signal.Signals(signum).name
            )
        )
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
            warning(_("释放 watch 租约失败（将在到期后失效）: {err}").format(err=cloud_reason(exc)))
    _err(_("enforce --watch: 已停止"))


def _record_pass(
    path: Path, cloud: str, result: PassResult | None, started: float, seconds: float
) -> None:
    """One pass as a textfile run: failed when it raised, an action failed, or deletions
    were refused by --max-deletes."""
    from cgcloud import textfile

    if result is None:
        run = textfile.RunResult(
            "enforce", cloud, False, started, seconds, errors=1, exit_code=EXIT_ERROR
        )
    else:
        code = EXIT_ERROR if result.failed else EXIT_DELETE_GUARD if result.blocked else EXIT_OK
        run = textfile.RunResult(
            "enforce",
            cloud,
            code == 0,
            started,
            seconds,
            requests=result.requests,
            errors=len(result.failed),
            changes={"done": len(result.done), "failed": len(result.failed)},
            exit_code=code,
        )
    textfile.write_run(path, run)


def upcoming_cmd(
    paths: PathsArg = None,
    days: Annotated[int, typer.Option("--days", min=1, help=N_("向后看多少天。"))] = 7,
    now: NowOpt = None,
    cloud: Annotated[
        str,
        typer.Option("--cloud", help=N_("可选：读取已记录的关机时间，以得到确切的删除日期。")),
    ] = "",
    engine_name: EngineOpt = "openstack",
    output: Annotated[
        Format, typer.Option("--format", "-f", help=N_("text 或 json"))
    ] = Format.text,
    timeout: TimeoutOpt = None,
) -> None:
    """The coming days' events from the forms, with the cloud's marks when asked
    (UPCOMING_HELP)."""
    from cgcloud import clock, enforce

    try:
        when = clock.now_local(now)
        repo = _load(paths, when)
    except clock.ClockError as exc:
        raise usage(exc) from None
    except PassError as exc:
        _err(str(exc))
        raise typer.Exit(exc.code) from None
    found = None
    if cloud:
        engine = _engine(engine_name, cloud, timeout=timeout)
        try:
            # only the projects and the servers' marks: no Neutron groups
            actual = engine.read(None, network_only=True, scope=set())
            found = enforce.marks(engine.read_inventory(actual, set()))
        except Exception as exc:  # noqa: BLE001
            _err(cloud_message(cloud, exc))
            raise typer.Exit(EXIT_ERROR) from None
    events = enforce.upcoming(repo, when, days, found)
    if output == Format.json:
        sys.stdout.write(
            json.dumps(
                {
                    "format": "cgcloud-upcoming/v1",
                    "now": when.isoformat(),
                    "days": days,
                    "events": [e.to_dict() for e in events],
                },
                ensure_ascii=False,
                indent=2,
            )
            + "\n"
        )
        return
    if not events:
        typer.echo(
            _("未来 {days} 天（{when} 起）没有到期的动作").format(days=days, when=when.isoformat())
        )
        return
    day = None
    for e in events:
        d = e.at.date()
        if d != day:
            typer.echo(
                _("{day}（{time} 起）").format(day=d.isoformat(), time=e.at.strftime("%H:%M"))
            )
            day = d
        typer.echo(f"  {e.message}")


ENFORCE_HELP = N_(
    "执行现在到期的每个定时动作，且只执行这些，每个都附理由。\n\n"
    "打开窗口已开始的规则，关闭窗口已结束的规则，推进下线流程（关机、保留整整七天、删除、"
    "回收记录），报告已失效的审批。退出码：0 完成（或无到期动作），1 错误或有动作失败，"
    "3 删除被 --max-deletes 拒绝，4 云被锁定，64 用法错误。"
)
UPCOMING_HELP = N_("未来几天将要打开、关闭、关机、删除或失效的内容。")


def register(app: typer.Typer) -> None:
    """Add `enforce` and `upcoming` to the main app."""
    app.command("enforce", help=ENFORCE_HELP)(enforce_cmd)
    app.command("upcoming", help=UPCOMING_HELP)(upcoming_cmd)
