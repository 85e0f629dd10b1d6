"""SSH connections with paramiko: host keys verified against a known_hosts file, never added.

The only module (with ``openssh``) that opens a network connection. Every failure a
user can meet becomes ``SshError`` with a sentence in the user's language that names
the host and what to do; timeouts are bounded so a silent bastion cannot hang a command.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import paramiko

from cgcloud.i18n import _

# paramiko logs a failed handshake at ERROR from its own thread; the SshError says it
# once, in the user's language. Without a handler Python's last-resort handler would
# print it too.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

DEFAULT_TIMEOUT = 15.0  # seconds per connect/auth/channel step, sized for a loaded 2-core box


class SshError(Exception):
    """A connection problem, already phrased for the user (in their language)."""


def known_hosts_name(host: str, port: int) -> str:
    """How known_hosts names ``host:port`` (``host`` for 22, else ``[host]:port``)."""
    return host if port == 22 else f"[{host}]:{port}"


def connect(
    host: str,
    port: int,
    user: str,
    *,
    known_hosts: Path,
    identity: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sock: Any = None,
    role: str = "",
) -> paramiko.SSHClient:
    """An authenticated client for ``user@host:port`` whose host key is in ``known_hosts``
    (RejectPolicy: an unknown key is refused, a changed key is refused)."""
    role = role or _("堡垒机")
    where = _("{role} {host}:{port}").format(role=role, host=host, port=port)
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(str(known_hosts))
    except OSError as exc:
        raise SshError(
            _(
                "无法读取 known_hosts 文件 {path}：{e}；"
                "主机密钥必须预先登记（与策略一起保存），cgcloud 不会自动接受"
            ).format(path=known_hosts, e=exc.strerror or exc)
        ) from None
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            host,
            port,
            username=user,
            key_filename=identity,
            look_for_keys=identity is None,
            allow_agent=identity is None,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            sock=sock,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise SshError(
            _(
                "{where} 的主机密钥与 {path} 中登记的不符（收到 {kind} {fp}）："
                "可能是冒充的主机，也可能主机已重装；核实后再更新 known_hosts"
            ).format(where=where, path=known_hosts, kind=exc.key.get_name(), fp=exc.key.fingerprint)
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise SshError(
            _(
                "{where} 拒绝了 {user} 的密钥：账号未开通、访问已到期（expiry-time）或私钥不对"
            ).format(where=where, user=user)
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise SshError(
                _(
                    "{where} 的主机密钥未在 {path} 中登记（{name}）："
                    "拒绝连接；请向云服务单位索取主机密钥指纹，核实后加入该文件"
                ).format(where=where, path=known_hosts, name=known_hosts_name(host, port))
            ) from None
        text = str(exc).lower()
        if "banner" in text or "no existing session" in text or "negotiation timed out" in text:
            # connected, but no SSH greeting/key exchange in time (hung sshd, not an SSH service)
            raise SshError(
                _("{where} 在 {s} 秒内没有 SSH 应答：服务可能挂起或不是 SSH 服务").format(
                    where=where, s=f"{timeout:.0f}"
                )
            ) from None
        raise SshError(_("{where} SSH 协议错误：{e}").format(where=where, e=exc)) from None
    except TimeoutError:
        client.close()
        raise SshError(
            _("{where} 在 {s} 秒内没有响应：主机可能已停机或网络不通").format(
                where=where, s=f"{timeout:.0f}"
            )
        ) from None
    except OSError as exc:
        client.close()
        raise SshError(
            _("无法连接{where}：{e}（主机停机或端口未开）").format(
                where=where, e=exc.strerror or exc
            )
        ) from None
    return client


def open_direct(
    bastion: paramiko.SSHClient,
    host: str,
    port: int,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    origin: tuple[str, int] = ("127.0.0.1", 0),
) -> paramiko.Channel:
    """A ``direct-tcpip`` channel from the bastion to ``host:port``."""
    transport = bastion.get_transport()
    if transport is None or not transport.is_active():
        raise SshError(_("与堡垒机的连接已断开"))
    try:
        return transport.open_channel("direct-tcpip", (host, port), origin, timeout=timeout)
    except paramiko.ChannelException as exc:
        raise SshError(
            _("堡垒机拒绝转发到 {host}:{port}（{e}）：堡垒机上该账号没有这个目标的许可").format(
                host=host, port=port, e=exc.text or exc
            )
        ) from None
    except (paramiko.SSHException, OSError, TimeoutError) as exc:
        raise SshError(
            _("经堡垒机连接 {host}:{port} 失败：{e}").format(host=host, port=port, e=exc)
        ) from None


def through(
    bastion: paramiko.SSHClient,
    host: str,
    port: int,
    user: str,
    *,
    known_hosts: Path,
    identity: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> paramiko.SSHClient:
    """A client for ``user@host:port`` reached through the bastion (both host keys checked)."""
    channel = open_direct(bastion, host, port, timeout=timeout)
    return connect(
        host,
        port,
        user,
        known_hosts=known_hosts,
        identity=identity,
        timeout=timeout,
        sock=channel,
        role=_("目标主机"),
    )
