"""How the `cgcloud` process meets its caller: exit codes, usage errors, streams, Ctrl-C.

Why a group class of our own: click ends a usage error with exit 2 (which
`plan --detailed-exitcode` defines as "changes present"), Ctrl-C silently, a
closed pipe with a traceback at shutdown, and an ASCII stdout with a
UnicodeEncodeError. One `main()` here maps every way a command can end onto
the table in `cgcloud/exitcodes.py`, for the installed entry point and for
typer's test runner alike (both call the root group's `main`).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer 0.2x ships its own copy of click; its exceptions are the ones raised
    from typer._click import exceptions as cx
    from typer._click.utils import _detect_program_name
except ImportError:  # pragma: no cover - older typer on the real click
    from click import exceptions as cx  # type: ignore[no-redef]
    from click.utils import _detect_program_name  # type: ignore[no-redef]

from cgcloud import i18n
from cgcloud.cli import clickwords, language
from cgcloud.cli.options import error_text
from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import _

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}


class CgcloudGroup(TyperGroup):
    """The root command group: every ending becomes a code from the one table."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        safe_streams()
        argv = sys.argv[1:] if args is None else list(args)
        if prog_name is None:
            prog_name = _detect_program_name()
        try:
            language.choose(argv)
            bad_env = None
        except language.BadEnvironment as exc:
            bad_env = str(exc)
        language.prepare(self)
        self._main_shell_completion(extra, prog_name, complete_var)
        if bad_env is not None:
            _echo_err(
                _("用法错误: 环境变量 {name} 的值 {value!r} 不是支持的语言（zh、en）").format(
                    name=i18n.LANG_ENV, value=bad_env
                )
            )
            code: int = ExitCode.USAGE
        else:
            code = run_command(self, argv, prog_name, **extra)
        code = _flush_output(code)
        if not standalone_mode:
            return code
        sys.exit(code)


def run_command(cmd: Any, argv: list[str], prog_name: str, **extra: Any) -> int:
    """Run `cmd` and return its exit code; user mistakes print one message, no traceback."""
    try:
        with cmd.make_context(prog_name, argv, **extra) as ctx:
            cmd.invoke(ctx)
        return ExitCode.OK
    except typer.Exit as exc:
        return exc.exit_code
    except cx.NoArgsIsHelpError as exc:  # `cgcloud` alone: the help, no error line
        exc.show()
        return ExitCode.USAGE
    except cx.UsageError as exc:
        show_usage_error(exc)
        return ExitCode.USAGE
    except typer.Abort as exc:  # click turns Ctrl-C / end of input at a prompt into Abort
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):
            return _interrupted()
        _echo_err(_("已取消（未确认）"))
        return ExitCode.DECLINED
    except cx.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        return _interrupted()
    except EOFError:
        _echo_err(_("已取消（输入已结束）"))
        return ExitCode.DECLINED
    except BrokenPipeError:
        # The reader went away (`| head -1`): what it wanted was printed; say nothing
        # more (stderr may be the same pipe) and keep Python's shutdown flush quiet.
        _park_stdout()
        return ExitCode.FAILURE


def _flush_output(code: int) -> int:
    """Flush now, while a closed pipe can still become an exit code (at interpreter
    shutdown it would be "Exception ignored … BrokenPipeError" and exit 120)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _park_stdout()
        return ExitCode.FAILURE
    except (OSError, ValueError):  # a stream a test harness already closed
        pass
    return code


def show_usage_error(exc: cx.UsageError) -> None:
    """click's usage error in the chosen language: the usage line, what is wrong, where
    help is (the sentences: `cgcloud.cli.clickwords`)."""
    ctx = exc.ctx
    lines = [ctx.get_usage()] if ctx is not None else []
    lines.append(_("用法错误: {what}").format(what=clickwords.describe(exc)))
    command = ctx.command_path if ctx is not None else "cgcloud"
    lines.append(_("运行 '{command} -h' 查看用法。").format(command=command))
    _echo_err("\n".join(lines))


def _interrupted() -> int:
    _echo_err(_("已中断（Ctrl-C）"))
    return ExitCode.INTERRUPTED


def _echo_err(text: str) -> None:
    with contextlib.suppress(OSError):  # stderr gone too: the exit code still tells
        typer.echo(text, err=True)


def safe_streams() -> None:
    """Make stdout/stderr unable to crash the process on encoding or a closed descriptor.

    An ASCII stream (PYTHONIOENCODING=ascii, LANG=C without UTF-8 mode) gets UTF-8,
    as click already does for everything typer.echo prints and PEP 538 does for the
    C locale: one encoding for all output keeps its order intact, and the Chinese
    messages stay readable in a log. Any other encoding is kept and a character it
    cannot carry is written as a backslash escape. A descriptor closed at start
    (`>&-`) becomes /dev/null instead of `None`.
    """
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            ascii_only = codecs.lookup(stream.encoding or "ascii").name == "ascii"
            if ascii_only:
                reconfigure(encoding="utf-8", errors="backslashreplace")
            else:
                reconfigure(errors="backslashreplace")
        except (LookupError, ValueError, OSError, AttributeError):
            continue


def _park_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush cannot raise again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def require_paths(paths: Sequence[os.PathLike[str] | str]) -> None:
    """A missing policy path is a usage error before anything connects to a cloud.

    The loader says the same when it reads; this is for the commands that connect
    (enforce, exporter) before they load, so the answer does not depend on the cloud.
    """
    for given in paths:
        if not os.path.lexists(given):
            _echo_err(error_text(_("路径不存在: {path}").format(path=os.fspath(given))))
            raise typer.Exit(ExitCode.USAGE)
