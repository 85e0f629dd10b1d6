"""`cgcloud bastion plan|apply`, `cgcloud ssh` and `cgcloud tunnel` (第十九条), registered by cli.py.

Thin: options → validated forms → ``cgcloud.bastion.access`` (pure) → a backend or a
session over paramiko. Every change and every session goes to the audit log.
"""

from __future__ import annotations

import ipaddress
import json
import sys
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from cgcloud.cli.options import err as _err
from cgcloud.cli.options import error_text, fail
from cgcloud.exitcodes import ExitCode
from cgcloud.i18n import N_, _

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = ExitCode.OK, ExitCode.FAILURE, ExitCode.CHANGES
EXIT_DELETE_GUARD, EXIT_LOCKED, EXIT_DECLINED = (
    ExitCode.DELETE_GUARD,
    ExitCode.LOCKED,
    ExitCode.DECLINED,
)
EXIT_USAGE, EXIT_INTERRUPTED = ExitCode.USAGE, ExitCode.INTERRUPTED
DEFAULT_MAX_DELETES = 20


class Format(StrEnum):
    text = "text"
    json = "json"


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help=N_("策略文件或目录（默认: policies/）。"), show_default=False),
]
NowOpt = Annotated[
    str | None,
    typer.Option("--now", help=N_("假定当前为此时刻（ISO 8601，默认时区 Asia/Shanghai）。")),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=N_(
            "堡垒机连接设置（默认 $CGCLOUD_BASTIONS 或 ~/.config/cgcloud/bastions.yaml）；"
            "见 docs/bastion.md。"
        ),
    ),
]
KnownHostsOpt = Annotated[
    Path | None,
    typer.Option(
        "--known-hosts",
        help=N_("含堡垒机和目标主机公钥的 known_hosts（默认: 策略仓库顶层的 known_hosts）。"),
    ),
]
AuditOpt = Annotated[
    Path | None,
    typer.Option(
        "--audit-log",
        help=N_(
            "JSON-lines 格式的审计日志（默认 $CGCLOUD_AUDIT_LOG 或 "
            "~/.local/state/cgcloud/audit.jsonl，与 apply 相同）。"
        ),
    ),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", help=N_("每个 SSH 步骤的等待秒数。"), min=1.0)
]


# --------------------------------------------------------------------------- shared steps


def _forms(paths: list[Path] | None, now: str | None) -> tuple[Any, datetime, list[Path]]:
    """Validated repository (refusing on any error) and the time to judge it at."""
    from cgcloud import clock, report
    from cgcloud import validate as pipeline
    from cgcloud.findings import has_errors
    from cgcloud.loader import UsageError

    roots = paths or [Path("policies")]
    try:
        when = clock.now_local(now)
    except clock.ClockError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    try:
        v = pipeline.validate(roots, when)
    except UsageError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if has_errors(v.findings):
        sys.stderr.write(report.render(v, "text"))
        raise fail(_("表单校验未通过，拒绝计算堡垒机访问（先运行 cgcloud validate 修正错误）"))
    return v.repo, when, roots


def _known_hosts(option: Path | None, roots: list[Path]) -> Path:
    if option is not None:
        return option
    first = roots[0]
    return (first if first.is_dir() else first.parent) / "known_hosts"


def _config(path: Path | None) -> Any:
    from cgcloud.bastion import config

    try:
        return config.load(path)
    except config.ConfigError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def _audit(path: Path | None) -> Any:
    from cgcloud.bastion.audit import BastionAudit, default_path

    return BastionAudit(path or default_path())


def _shanghai(moment: datetime) -> str:
    from cgcloud import clock

    local = moment.astimezone(clock.TZ).strftime("%Y-%m-%d %H:%M")
    utc = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return _("{local}（北京时间，UTC {utc}）").format(local=local, utc=utc)


# --------------------------------------------------------------------------- plan / apply


class _Target:
    """One bastion of the plan: what the forms want, the backend, what it holds."""

    def __init__(self, want: Any) -> None:
        self.want = want
        self.endpoint: Any = None
        self.backend: Any = None
        self.changes: list[Any] = []
        self.missing_users: set[str] = set()
        self.error: str | None = None
        self.skipped: str | None = None


def _collect(state: Any, cfg: Any, known_hosts: Path, timeout: float, lock: bool) -> list[_Target]:
    from cgcloud.bastion import authorized_keys, transport
    from cgcloud.bastion.backend import LockHeld
    from cgcloud.bastion.openssh import OpenSshBackend

    out = []
    for address in sorted(state.bastions):
        t = _Target(state.bastions[address])
        out.append(t)
        t.endpoint = cfg.bastions.get(address)
        if t.endpoint is None:
            if t.want.accounts:
                t.error = _(
                    "没有堡垒机 {a} 的连接配置（bastions.yaml），无法开通 {n} 个账号"
                ).format(a=address, n=len(t.want.accounts))
            else:
                t.skipped = _("未配置连接，未检查（表单不要求其上有账号）")
            continue
        try:
            t.backend = OpenSshBackend(t.endpoint, known_hosts, timeout=timeout)
            if lock:
                t.backend.lock(_actor())
            have = t.backend.read()
            t.changes = authorized_keys.diff(t.want, have)
            t.missing_users = t.backend.missing_users(set(t.want.accounts))
        except LockHeld as exc:
            t.error = str(exc)
            t.skipped = "locked"
        except (transport.SshError, OSError) as exc:
            t.error = str(exc)
    return out


def _actor() -> str:
    from cgcloud.bastion.audit import actor

    return actor()


def _render_text(state: Any, targets: list[_Target]) -> str:
    lines: list[str] = []
    counts = {"create": 0, "update": 0, "delete": 0, "conflict": 0}
    for t in targets:
        head = _("堡垒机 {a}（区域 {z}）").format(a=t.want.address, z=t.want.zone)
        if t.endpoint is not None:
            head += f" ← {t.endpoint.host}:{t.endpoint.port}"
        lines.append(head)
        if t.skipped and t.skipped != "locked":
            lines.append("  " + t.skipped)
        if t.error:
            lines.append("  " + error_text(t.error))
            continue
        if t.skipped:
            continue
        by_login = {c.login: c for c in t.changes}
        for login in sorted(set(t.want.accounts) | set(by_login)):
            change = by_login.get(login)
            account = t.want.accounts.get(login)
            mark = {"create": "+", "update": "~", "delete": "-", "conflict": "!"}.get(
                change.action if change else "", "="
            )
            if change is not None:
                counts[change.action] += 1
            if account is not None:
                targets_text = _("、").join(f"{h}:{p}" for h, p in account.targets)
                lines.append(
                    _("  {mark} {login}（{name}）→ {targets}，到 {when} 为止").format(
                        mark=mark,
                        login=login,
                        name=account.name,
                        targets=targets_text,
                        when=_shanghai(account.expiry),
                    )
                )
                for g in account.grants:
                    lines.append(
                        "      " + _("{t} 依据 {f} 第{r}行").format(t=g.target, f=g.form, r=g.row)
                    )
            else:
                lines.append(
                    _("  {mark} {login} 表单已不再授权：删除其访问").format(mark=mark, login=login)
                )
            if change is not None:
                if change.note:
                    lines.append("      " + change.note)
                for ln in change.drift:
                    lines.append(
                        "      " + _("漂移（非 cgcloud 写入，将删除）: {l}").format(l=_short(ln))
                    )
            if account is not None and login in t.missing_users:
                lines.append(
                    "      "
                    + _(
                        "警告: 堡垒机上没有系统账号 {l}（须由堡垒机管理员创建，见 docs/bastion.md）"
                    ).format(l=login)
                )
    for note in state.notes:
        lines.append(_("注: {n}").format(n=note))
    lines.append(
        _("汇总: {c} 个新增，{u} 个修改，{d} 个删除，{x} 个冲突").format(
            c=counts["create"], u=counts["update"], d=counts["delete"], x=counts["conflict"]
        )
    )
    return "\n".join(lines) + "\n"


def _short(line: str, width: int = 120) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def _render_json(state: Any, targets: list[_Target]) -> str:
    out = {
        "now": state.now.isoformat(),
        "bastions": [
            {
                "address": t.want.address,
                "zone": t.want.zone,
                "endpoint": f"{t.endpoint.host}:{t.endpoint.port}" if t.endpoint else None,
                "error": t.error,
                "accounts": [
                    {
                        "login": a.login,
                        "name": a.name,
                        "projects": a.projects,
                        "keys": [k.fingerprint for k in a.keys],
                        "expiry": a.expiry.isoformat(),
                        "grants": [
                            {
                                "target": g.target,
                                "form": g.form,
                                "row": g.row,
                                "until": g.until.isoformat(),
                            }
                            for g in a.grants
                        ],
                    }
                    for a in t.want.accounts.values()
                ],
                "changes": [
                    {
                        "action": c.action,
                        "login": c.login,
                        "added": list(c.added),
                        "removed": list(c.removed),
                        "drift": list(c.drift),
                        "note": c.note,
                    }
                    for c in t.changes
                ],
                "missing_users": sorted(t.missing_users),
            }
            for t in targets
        ],
        "notes": state.notes,
    }
    return json.dumps(out, ensure_ascii=False, indent=2) + "\n"


def _close(targets: list[_Target]) -> None:
    for t in targets:
        if t.backend is not None:
            try:
                t.backend.unlock()
            except Exception as exc:  # noqa: BLE001 - a failed unlock must not hide the result
                _err(
                    _("警告: 释放堡垒机 {a} 的锁失败（15 分钟后失效）: {e}").format(
                        a=t.want.address, e=exc
                    )
                )
            t.backend.close()


def plan_cmd(
    paths: PathsArg = None,
    now: NowOpt = None,
    config: ConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    output: Annotated[
        Format, typer.Option("--format", "-f", help=N_("text 或 json"))
    ] = Format.text,
    detailed_exitcode: Annotated[
        bool,
        typer.Option("--detailed-exitcode", help=N_("退出码 0 = 无变更，2 = 有变更，1 = 错误。")),
    ] = False,
    timeout: TimeoutOpt = 15.0,
) -> None:
    """Read every bastion, diff against the forms, render (BASTION_PLAN_HELP)."""
    from cgcloud.bastion import access

    repo, when, roots = _forms(paths, now)
    state = access.compute(repo, when)
    targets = _collect(
        state, _config(config), _known_hosts(known_hosts, roots), timeout, lock=False
    )
    try:
        sys.stdout.write(
            _render_json(state, targets) if output == Format.json else _render_text(state, targets)
        )
    finally:
        _close(targets)
    if any(t.error for t in targets):
        raise typer.Exit(EXIT_ERROR)
    if detailed_exitcode and any(t.changes for t in targets):
        raise typer.Exit(EXIT_CHANGES)


def apply_cmd(
    paths: PathsArg = None,
    now: NowOpt = None,
    config: ConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=N_("不询问确认。"))] = False,
    max_deletes: Annotated[
        int,
        typer.Option("--max-deletes", help=N_("失去访问的账号多于此数时拒绝执行。")),
    ] = DEFAULT_MAX_DELETES,
    audit_log: AuditOpt = None,
    timeout: TimeoutOpt = 15.0,
) -> None:
    """Lock, plan, guard, confirm and write each bastion (BASTION_APPLY_HELP)."""
    from cgcloud.bastion import access

    repo, when, roots = _forms(paths, now)
    state = access.compute(repo, when)
    targets = _collect(state, _config(config), _known_hosts(known_hosts, roots), timeout, lock=True)
    audit = _audit(audit_log)
    failed = False
    try:
        sys.stdout.write(_render_text(state, targets))
        if any(t.skipped == "locked" for t in targets):
            raise typer.Exit(EXIT_LOCKED)
        changes = [c for t in targets if not t.error for c in t.changes if c.action != "conflict"]
        deletes = sum(1 for c in changes if c.action == "delete")
        if changes:
            if deletes > max_deletes:
                raise fail(
                    _(
                        "计划删除 {n} 个账号的访问，超过 --max-deletes {m}；确认无误后用 "
                        "--max-deletes {n} 重新运行"
                    ).format(n=deletes, m=max_deletes),
                    EXIT_DELETE_GUARD,
                )
            if not yes:
                if not sys.stdin.isatty():
                    raise fail(_("非交互环境请加 --yes 确认执行"), EXIT_DECLINED)
                if not typer.confirm(_("执行以上更改？"), default=False):
                    raise fail(_("已取消"), EXIT_DECLINED)
        done, failed = _apply_changes(targets, audit)
        typer.echo(
            _("已应用 {n}/{t} 项更改；审计日志: {p}").format(n=done, t=len(changes), p=audit.path)
        )
    finally:
        _close(targets)
    if failed:
        raise fail(_("部分堡垒机未能收敛；修复原因后重新运行 cgcloud bastion apply"))


def _apply_changes(targets: list[_Target], audit: Any) -> tuple[int, bool]:
    """Write/remove every planned file, one audit entry each; (done, any failure)."""
    from cgcloud.bastion import transport

    done, failed = 0, False
    for t in targets:
        if t.error or t.backend is None:
            failed = failed or t.error is not None
            continue
        for c in t.changes:
            if c.action == "conflict":
                failed = True
                continue
            account = t.want.accounts.get(c.login)
            entry: dict[str, Any] = {
                "bastion": t.want.address,
                "login": c.login,
                "name": account.name if account else None,
                "targets": [f"{h}:{p}" for h, p in account.targets] if account else [],
                "expiry": account.expiry.isoformat() if account else None,
                "keys": [k.fingerprint for k in account.keys] if account else [],
                "forms": sorted({*account.projects, *(g.form for g in account.grants)})
                if account
                else [],
                "drift": list(c.drift),
            }
            try:
                if c.action == "delete":
                    t.backend.remove(c.login)
                else:
                    t.backend.write(c.login, c.text)
                audit.write("bastion-" + c.action, result="done", **entry)
                done += 1
            except (transport.SshError, OSError) as exc:
                failed = True
                audit.write("bastion-" + c.action, result="failed", error=str(exc), **entry)
                _err(
                    _("  失败 {a} {l}@{b}: {e}").format(
                        a=c.action, l=c.login, b=t.want.address, e=exc
                    )
                )
    return done, failed


def enforce_pass(
    paths: list[Path] | None,
    when: datetime,
    audit_log: Path | None,
    config: Path | None = None,
    timeout: float = 15.0,
) -> bool:
    """The bastion part of `cgcloud enforce --bastions`: make every configured bastion equal
    the forms at ``when`` (a window that ended loses its access, one that began gains it),
    without asking. True when everything converged. expiry-time already stops an ended
    grant at the bastion; this removes the line and opens what became due."""
    from cgcloud import clock
    from cgcloud.bastion import access

    try:
        repo, when, roots = _forms(paths, clock.now_local(when).isoformat())
    except typer.Exit:
        return False  # the findings are printed already
    state = access.compute(repo, when)
    try:
        cfg = _config(config)
    except typer.Exit:
        return False
    targets = _collect(state, cfg, _known_hosts(None, roots), timeout, lock=True)
    try:
        changes = [c for t in targets for c in t.changes]
        if changes or any(t.error for t in targets):
            sys.stdout.write(_render_text(state, targets))
        if any(t.skipped == "locked" for t in targets):
            return False
        _done, failed = _apply_changes(targets, _audit(audit_log))
    finally:
        _close(targets)
    return not failed


def poweroff_gate(
    repo: Any,
    actions: list[Any],
    when: datetime,
    audit_path: Path | None,
    paths: list[Path] | None,
    enabled: bool,
) -> dict[str, str]:
    """For `cgcloud enforce`: run each ShutdownNotice's ``commands`` on its hosts before any
    of them is powered off. Returns form id → why its power-offs must not happen."""
    from cgcloud.bastion import access, commands, config

    due: dict[str, list[str]] = {}
    for a in actions:
        if a.verb == "poweroff" and a.data.get("stop"):
            due.setdefault(a.form, []).append(a.host)
    notices = {n.id: n for n in repo.shutdowns if n.commands and n.id in due}
    if not notices:
        return {}
    if not enabled:
        return {
            nid: _(
                "{n} 要求关机前经堡垒机执行系统关闭/数据拷贝命令：请用 --bastions 运行 enforce"
                "（docs/bastion.md）；主机均未关机"
            ).format(n=nid)
            for nid in notices
        }
    try:
        cfg = config.load(None)
    except config.ConfigError as exc:
        return {nid: str(exc) for nid in notices}
    state = access.compute(repo, when)
    roots = paths or [Path("policies")]
    audit = _audit(audit_path)
    out: dict[str, str] = {}
    for nid, notice in sorted(notices.items()):
        why = commands.run_before_poweroff(
            state, nid, notice.commands, sorted(due[nid]), cfg, _known_hosts(None, roots), audit
        )
        if why is not None:
            out[nid] = why
    return out


# --------------------------------------------------------------------------- ssh / tunnel


def _split_target(text: str, default_user: str) -> tuple[str, str]:
    user, sep, host = text.rpartition("@")
    host = host.strip()
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise fail(
            _(
                "目标 {t} 应为 IPv4 地址（表单按地址授权），例如 172.21.4.21 或 root@172.21.4.21"
            ).format(t=text),
            EXIT_USAGE,
        ) from None
    return (user if sep else default_user), host


def _decide(
    paths: list[Path] | None, who: str, host: str, port: int
) -> tuple[Any, Any, list[Path]]:
    """What the forms say about ``who`` → ``host:port`` now (a grant, or why not)."""
    from cgcloud.bastion import access

    repo, when, roots = _forms(paths, None)
    state = access.compute(repo, when)
    return state, access.check(state, who, host, port), roots


def _session_common(
    who: str | None,
    host: str,
    port: int,
    policies: list[Path] | None,
    config: Path | None,
    audit_log: Path | None,
    action: str,
    command: str | None,
) -> tuple[Any, Any, Any, str, str, Any, list[Path]]:
    cfg = _config(config)
    login = who or cfg.login or _actor()
    audit = _audit(audit_log)
    state, decision, roots = _decide(policies, login, host, port)
    if isinstance(decision, str):
        audit.write(
            action,
            result="refused",
            login=login,
            target=f"{host}:{port}",
            command=command,
            reason=decision,
        )
        raise fail(decision)
    bastion_address, grant = decision
    account = state.bastions[bastion_address].accounts[grant_login(state, bastion_address, login)]
    return cfg, audit, grant, bastion_address, account.login, account, roots


def grant_login(state: Any, bastion: str, who: str) -> str:
    for login, account in state.bastions[bastion].accounts.items():
        if who in (login, account.name):
            return login
    raise KeyError(who)  # pragma: no cover - check() found it


def ssh_cmd(
    target: Annotated[str, typer.Argument(help=N_("目标主机地址，可写作 USER@HOST。"))],
    command: Annotated[
        list[str] | None,
        typer.Argument(
            help=N_("要执行的命令（写在 -- 之后）；省略时打开交互式 shell。"), show_default=False
        ),
    ] = None,
    as_: Annotated[
        str | None,
        typer.Option(
            "--as",
            help=N_(
                "你在表单中的堡垒机登录名或姓名（默认: bastions.yaml 中的 login，否则 $USER）。"
            ),
        ),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", "-p", help=N_("22（SSH）。"), min=1, max=65535)
    ] = 22,
    policies: Annotated[
        list[Path] | None,
        typer.Option("--policies", help=N_("策略仓库（默认: policies/）。")),
    ] = None,
    identity: Annotated[
        Path | None,
        typer.Option(
            "--identity",
            "-i",
            help=N_("你的私钥（默认: bastions.yaml 中的 identity，否则 agent/~/.ssh）。"),
        ),
    ] = None,
    config: ConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    audit_log: AuditOpt = None,
    timeout: TimeoutOpt = 15.0,
) -> None:
    """Check the forms, connect through the bastion, run, audit (SSH_HELP)."""
    from cgcloud.bastion import session, transport

    cmd_text = " ".join(command) if command else None
    user_given, host = _split_target(target, "")
    cfg, audit, grant, bastion_address, login, account, roots = _session_common(
        as_, host, port, policies, config, audit_log, "ssh", cmd_text
    )
    user = user_given or login
    endpoint = _endpoint(cfg, bastion_address)
    kh = _known_hosts(known_hosts, roots)
    key = str(identity) if identity else cfg.identity
    counters = session.Counters()
    started = time.monotonic()
    entry = {
        "login": login,
        "name": account.name,
        "bastion": bastion_address,
        "target": f"{host}:{port}",
        "user": user,
        "command": cmd_text,
        "forms": [grant.form],
        "row": grant.row,
    }
    try:
        bastion = transport.connect(
            endpoint.host, endpoint.port, login, known_hosts=kh, identity=key, timeout=timeout
        )
        try:
            client = transport.through(
                bastion, host, port, user, known_hosts=kh, identity=key, timeout=timeout
            )
            try:
                if cmd_text is not None:
                    status = session.run_command(
                        client, cmd_text, sys.stdout.buffer, sys.stderr.buffer, counters
                    )
                else:
                    if not sys.stdin.isatty():
                        raise fail(_("没有终端：请在 -- 之后给出要执行的命令"), EXIT_USAGE)
                    status = session.interactive(client, counters)
            finally:
                client.close()
        finally:
            bastion.close()
    except transport.SshError as exc:
        audit.write(
            "ssh",
            result="failed",
            error=str(exc),
            seconds=round(time.monotonic() - started, 2),
            bytes_sent=counters.sent,
            bytes_received=counters.received,
            **entry,
        )
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        audit.write(
            "ssh",
            result="interrupted",
            seconds=round(time.monotonic() - started, 2),
            bytes_sent=counters.sent,
            bytes_received=counters.received,
            **entry,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    audit.write(
        "ssh",
        result="done",
        exit_status=status,
        seconds=round(time.monotonic() - started, 2),
        bytes_sent=counters.sent,
        bytes_received=counters.received,
        **entry,
    )
    if status != 0:  # the one exit-code table: the remote status is told, not passed through
        raise fail(_("{t} 上的命令以退出码 {s} 结束").format(t=f"{host}:{port}", s=status))
    raise typer.Exit(EXIT_OK)


def _endpoint(cfg: Any, address: str) -> Any:
    from cgcloud.bastion.config import ConfigError

    try:
        return cfg.endpoint(address)
    except ConfigError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    try:
        if not sep or not ipaddress.IPv4Address(host).is_loopback or not 0 <= int(port) < 65536:
            raise ValueError
    except ValueError:
        raise fail(
            _("--local {t} 应为本机环回地址:端口，例如 127.0.0.1:13389（隧道不对外网开放）").format(
                t=text
            ),
            EXIT_USAGE,
        ) from None
    return host, int(port)


def tunnel_cmd(
    host: Annotated[str, typer.Argument(help=N_("目标主机地址。"))],
    port: Annotated[
        int, typer.Argument(help=N_("目标端口：3389（RDP）或 22（SSH）。"), min=1, max=65535)
    ],
    local: Annotated[
        str, typer.Option("--local", help=N_("监听地址（仅限环回）；端口 0 = 任意。"))
    ] = "127.0.0.1:0",
    as_: Annotated[
        str | None, typer.Option("--as", help=N_("你在表单中的堡垒机登录名或姓名。"))
    ] = None,
    policies: Annotated[
        list[Path] | None,
        typer.Option("--policies", help=N_("策略仓库（默认: policies/）。")),
    ] = None,
    identity: Annotated[
        Path | None, typer.Option("--identity", "-i", help=N_("你的私钥。"))
    ] = None,
    config: ConfigOpt = None,
    known_hosts: KnownHostsOpt = None,
    audit_log: AuditOpt = None,
    timeout: TimeoutOpt = 15.0,
) -> None:
    """Check the forms, then forward a loopback port until Ctrl-C (TUNNEL_HELP)."""
    from cgcloud.bastion import session, transport

    listen = _listen(local)
    _split_target(host, "x")
    cfg, audit, grant, bastion_address, login, account, roots = _session_common(
        as_, host, port, policies, config, audit_log, "tunnel", None
    )
    endpoint = _endpoint(cfg, bastion_address)
    kh = _known_hosts(known_hosts, roots)
    key = str(identity) if identity else cfg.identity
    entry = {
        "login": login,
        "name": account.name,
        "bastion": bastion_address,
        "target": f"{host}:{port}",
        "forms": [grant.form],
        "row": grant.row,
    }
    started = time.monotonic()
    try:
        bastion = transport.connect(
            endpoint.host, endpoint.port, login, known_hosts=kh, identity=key, timeout=timeout
        )
    except transport.SshError as exc:
        audit.write("tunnel", result="failed", error=str(exc), **entry)
        raise fail(str(exc)) from None
    try:
        tunnel = session.Tunnel(bastion, host, port, listen)
    except OSError as exc:
        bastion.close()
        raise fail(
            _("无法在 {l} 监听: {e}").format(l=local, e=exc.strerror or exc), EXIT_USAGE
        ) from None
    laddr = f"{tunnel.address[0]}:{tunnel.address[1]}"
    typer.echo(
        _("隧道: {l} → {b} → {t}（Ctrl-C 结束）").format(
            l=laddr, b=bastion_address, t=f"{host}:{port}"
        )
    )
    sys.stdout.flush()
    code = EXIT_OK
    try:
        tunnel.serve()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        tunnel.stop()
        bastion.close()
        audit.write(
            "tunnel",
            result="done",
            local=laddr,
            connections=tunnel.connections,
            seconds=round(time.monotonic() - started, 2),
            bytes_sent=tunnel.counters.sent,
            bytes_received=tunnel.counters.received,
            **entry,
        )
    raise typer.Exit(code)


BASTION_HELP = N_("第十九条：堡垒机账号及其 SSH 访问，按表单调和。")
BASTION_PLAN_HELP = N_(
    "显示 apply 将写入或删除哪些堡垒机账号和 authorized_keys 条目。\n\n"
    "先校验表单，有任何错误即拒绝；通过 SSH 读取每台已配置的堡垒机（主机公钥按 known_hosts "
    "核对，从不自动添加）。退出码：0 无变更（或未加 --detailed-exitcode 时有变更），1 错误，"
    "2 有变更，64 用法错误。"
)
BASTION_APPLY_HELP = N_(
    "使每台堡垒机上由 cgcloud 管理的 authorized_keys 与表单现在授予的一致。\n\n"
    "幂等：第二次运行不做任何变更。没有 cgcloud 标记行的文件从不改动。退出码：0 完成，"
    "1 错误，3 删除保护，4 堡垒机被另一个 apply 锁定，5 未确认，64 用法错误。"
)
SSH_HELP = N_(
    "只经所在区域的堡垒机登录主机（或在其上执行命令）。\n\n"
    "除非已批准并签字的表单现在允许你访问此目标，否则在连接前拒绝，并指出缺少什么。"
    "两台主机的公钥都按 known_hosts 核对。会话（谁、堡垒机、目标、命令、退出状态、字节数）"
    "写入审计日志。退出码：命令（或 shell）以 0 结束时为 0；否则为 1（打印并审计其退出状态），"
    "被拒绝或连接失败时也为 1；64 用法错误。\n\n"
    "示例：cgcloud ssh --as lisi 172.21.4.21 -- uptime"
)
TUNNEL_HELP = N_(
    "经所在区域的堡垒机把本地端口转发到 HOST:PORT（例如供 RDP 客户端使用）。\n\n"
    "连接前做与 `cgcloud ssh` 相同的检查；核对堡垒机的主机公钥。运行到 Ctrl-C 为止；"
    "会话（双向字节数、连接数）写入审计日志。退出码：Ctrl-C 后 130，被拒绝或失败 1，"
    "64 用法错误。\n\n"
    "示例：cgcloud tunnel 172.21.4.31 3389 --local 127.0.0.1:13389"
)


def register(app: typer.Typer) -> None:
    """Add `bastion plan|apply`, `ssh` and `tunnel` to the main app."""
    bastion_app = typer.Typer(
        name="bastion", no_args_is_help=True, rich_markup_mode=None, help=BASTION_HELP
    )
    bastion_app.command("plan", help=BASTION_PLAN_HELP)(plan_cmd)
    bastion_app.command("apply", help=BASTION_APPLY_HELP)(apply_cmd)
    app.add_typer(bastion_app, name="bastion")
    app.command("ssh", help=SSH_HELP)(ssh_cmd)
    app.command("tunnel", help=TUNNEL_HELP)(tunnel_cmd)
