"""A ShutdownNotice's commands before the power-off (第十五条 系统关闭、数据拷贝), run on
each host through its zone's bastion.

The same rules as `cgcloud ssh`: the notice's ``login`` must be allowed to reach every
host now (a signed bastion account and an approved SSH row), and nothing runs unless
every host is allowed. Each host gets ``shutdown`` then ``data_copy``; the first
failure stops (the caller then powers nothing off for that notice). Every command is
an audit entry.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from cgcloud.bastion import access, session, transport
from cgcloud.bastion.audit import BastionAudit
from cgcloud.bastion.config import Config, ConfigError
from cgcloud.i18n import N_, _

DEFAULT_TIMEOUT_MINUTES = 30  # per command; a hung copy must not hold enforce forever
STEPS = (("shutdown", N_("系统关闭")), ("data_copy", N_("数据拷贝")))


def run_before_poweroff(
    state: access.AccessState,
    notice: str,
    commands: dict[str, Any],
    hosts: list[str],
    cfg: Config,
    known_hosts: Path,
    audit: BastionAudit,
    timeout: float = transport.DEFAULT_TIMEOUT,
) -> str | None:
    """None when every step succeeded on every host, else why not (in the user's language, names the host)."""
    login = str(commands["login"])
    user = str(commands.get("user") or login)
    steps = [(key, zh, str(commands[key])) for key, zh in STEPS if commands.get(key)]
    limit = 60.0 * float(commands.get("timeout_minutes") or DEFAULT_TIMEOUT_MINUTES)
    routes: list[tuple[str, str]] = []
    for host in hosts:
        decision = access.check(state, login, host, 22)
        if isinstance(decision, str):
            audit.write(
                "decommission-command",
                result="refused",
                notice=notice,
                login=login,
                target=f"{host}:22",
                reason=decision,
            )
            return _("{notice} 关机前命令不能在 {host} 执行（未执行任何命令）：{why}").format(
                notice=notice, host=host, why=decision
            )
        routes.append((host, decision[0]))
    for host, bastion_address in routes:
        try:
            endpoint = cfg.endpoint(bastion_address)
        except ConfigError as exc:
            return _("{notice} 关机前命令：{e}").format(notice=notice, e=exc)
        base = {
            "notice": notice,
            "login": login,
            "user": user,
            "bastion": bastion_address,
            "target": f"{host}:22",
        }
        try:
            bastion = transport.connect(
                endpoint.host,
                endpoint.port,
                login,
                known_hosts=known_hosts,
                identity=cfg.identity,
                timeout=timeout,
            )
            try:
                client = transport.through(
                    bastion,
                    host,
                    22,
                    user,
                    known_hosts=known_hosts,
                    identity=cfg.identity,
                    timeout=timeout,
                )
                try:
                    for key, zh, command in steps:
                        out, err, counters = io.BytesIO(), io.BytesIO(), session.Counters()
                        started = time.monotonic()
                        try:
                            status = session.run_command(
                                client, command, out, err, counters, limit_seconds=limit
                            )
                        except session.CommandTimeout:
                            audit.write(
                                "decommission-command",
                                result="timeout",
                                step=key,
                                command=command,
                                seconds=round(time.monotonic() - started, 2),
                                **base,
                            )
                            return _(
                                "{notice} 在 {host} 的{step}命令超过 {m} 分钟未结束，已中止；"
                                "该通知单的主机均未关机"
                            ).format(notice=notice, host=host, step=_(zh), m=f"{limit / 60:g}")
                        audit.write(
                            "decommission-command",
                            result="done" if status == 0 else "failed",
                            step=key,
                            command=command,
                            exit_status=status,
                            seconds=round(time.monotonic() - started, 2),
                            bytes_received=counters.received,
                            **base,
                        )
                        if status != 0:
                            tail = err.getvalue().decode("utf-8", "replace").strip()[-300:]
                            return _(
                                "{notice} 在 {host} 的{step}命令失败（退出码 {status}）{tail}"
                                "；该通知单的主机均未关机"
                            ).format(
                                notice=notice,
                                host=host,
                                step=_(zh),
                                status=status,
                                tail=_("：{tail}").format(tail=tail) if tail else "",
                            )
                finally:
                    client.close()
            finally:
                bastion.close()
        except transport.SshError as exc:
            audit.write("decommission-command", result="failed", error=str(exc), **base)
            return _("{notice} 关机前命令无法在 {host} 执行：{e}；该通知单的主机均未关机").format(
                notice=notice, host=host, e=exc
            )
    return None
