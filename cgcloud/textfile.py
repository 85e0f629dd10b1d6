"""Run results of `cgcloud apply` / `cgcloud enforce` as a node-exporter textfile.

For cron use: a run writes ``--textfile PATH`` (e.g.
``/var/lib/prometheus/node-exporter/cgcloud-apply.prom``) atomically — a temp
file in the same directory, fsync, rename — so the textfile collector never
reads half a file. The last *successful* run's time survives a failed run (it is
read back from the previous file), which is what "enforce has not succeeded for
too long" alerts on.

Two ways in, both for the enforce author too:

- ``write_run(path, RunResult(...))`` — call it yourself;
- ``@recorded("enforce")`` on a typer command — adds ``--textfile`` to it and
  writes on every exit (0 = success, anything else = failure); inside the
  command, ``note(engine=…, outcome=…)`` hands over the request/error counts.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.i18n import N_

PREFIX = "cgcloud_last"


@dataclass(slots=True)
class RunResult:
    """One run, as the metrics see it (times are wall-clock Unix seconds)."""

    command: str
    cloud: str
    success: bool
    started: float
    duration: float
    requests: int = 0
    errors: int = 0
    changes: dict[str, int] = field(default_factory=dict)  # result → count (done/failed/not_done)
    exit_code: int = 0


def _previous_success(path: Path, command: str, cloud: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        for fam in text_string_to_metric_families(text):
            if fam.name == f"{PREFIX}_success_timestamp_seconds":
                for s in fam.samples:
                    if s.labels.get("command") == command and s.labels.get("cloud") == cloud:
                        return float(s.value)
    except ValueError:
        return None
    return None


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render(run: RunResult, last_success: float | None) -> str:
    """The textfile's content (Prometheus text format 0.0.4)."""
    lab = f'command="{_esc(run.command)}",cloud="{_esc(run.cloud)}"'
    lines: list[str] = []

    def metric(name: str, doc: str, value: float, extra: str = "") -> None:
        full = f"{PREFIX}_{name}"
        if not any(line.startswith(f"# HELP {full} ") for line in lines):
            lines.append(f"# HELP {full} {doc}")
            lines.append(f"# TYPE {full} gauge")
        lines.append(f"{full}{{{lab}{extra}}} {value!r}")

    metric("run_timestamp_seconds", "When the last run of a cgcloud command started.", run.started)
    metric("run_success", "1 when the last run exited 0.", 1.0 if run.success else 0.0)
    metric("run_exit_code", "Exit code of the last run.", float(run.exit_code))
    metric("run_duration_seconds", "Wall time of the last run.", run.duration)
    metric("run_api_requests", "OpenStack API requests of the last run.", float(run.requests))
    metric(
        "run_api_errors",
        "API calls of the last run that failed for good (after retries).",
        float(run.errors),
    )
    for result in ("done", "failed", "not_done"):
        metric(
            "run_changes",
            "Changes of the last run by result.",
            float(run.changes.get(result, 0)),
            f',result="{result}"',
        )
    if last_success is not None:
        metric("success_timestamp_seconds", "When the last successful run started.", last_success)
    return "\n".join(lines) + "\n"


def write_run(path: Path, run: RunResult) -> None:
    """Write atomically; keep the previous success time when this run failed."""
    last = run.started if run.success else _previous_success(path, run.command, run.cloud)
    text = render(run, last)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- decorator

_NOTES: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "cgcloud_textfile_notes", default=None
)


def note(**values: Any) -> None:
    """Hand the running command's engine (``engine=``) and apply result (``outcome=``) to
    ``@recorded``; a no-op outside one."""
    notes = _NOTES.get()
    if notes is not None:
        notes.update(values)


TextfileOpt = Annotated[
    Path | None,
    typer.Option(
        "--textfile",
        # the Chinese msgid; the command line translates help texts per invocation
        help=N_(
            "同时把本次运行的结果（时间、是否成功、耗时、API 请求/错误数、变更数）写入 PATH，"
            "供 node-exporter 的 textfile 收集器读取（原子重命名；见 docs/metrics.md）。"
        ),
    ),
]


def recorded(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a typer command: adds ``--textfile`` and records every exit there."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn, eval_str=True)  # typer reads the resolved Annotated[...]

        @functools.wraps(fn)
        def run(*args: Any, textfile: Path | None = None, **kwargs: Any) -> Any:
            if textfile is None:
                return fn(*args, **kwargs)
            notes: dict[str, Any] = {}
            token = _NOTES.set(notes)
            started, t0 = time.time(), time.monotonic()
            code = 1
            try:
                out = fn(*args, **kwargs)
                code = 0
                return out
            except typer.Exit as exc:
                code = exc.exit_code
                raise
            finally:
                _NOTES.reset(token)
                bound = sig.bind_partial(*args, **kwargs)
                cloud = str(bound.arguments.get("cloud") or os.environ.get("OS_CLOUD", ""))
                write_run(
                    textfile, _result(command, cloud, code, started, time.monotonic() - t0, notes)
                )

        params = [
            *sig.parameters.values(),
            inspect.Parameter(
                "textfile", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=TextfileOpt
            ),
        ]
        run.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        run.__annotations__ = {
            **{n: q.annotation for n, q in sig.parameters.items()},
            "textfile": TextfileOpt,
            "return": sig.return_annotation,
        }
        return run

    return wrap


def _result(
    command: str, cloud: str, code: int, started: float, duration: float, notes: dict[str, Any]
) -> RunResult:
    run = RunResult(command, cloud, code == 0, started, duration, exit_code=code)
    engine = notes.get("engine")
    outcome = notes.get("outcome")
    if engine is not None:
        run.requests = int(getattr(engine, "requests", 0))
    if outcome is not None:
        steps = getattr(outcome, "steps", [])
        run.changes = {
            "done": sum(1 for s in steps if s.status == "done"),
            "failed": sum(1 for s in steps if s.status == "failed"),
            "not_done": sum(1 for s in steps if s.status == "not-done"),
        }
        run.errors = run.changes["failed"]
    run.errors = max(run.errors, int(notes.get("errors", 0)))
    if code != 0 and not run.errors and notes.get("error"):
        run.errors = 1
    return run
