"""SSH connections with paramiko: host keys verified against a known_hosts file, never added.

The only module (with ``openssh``) that opens a network connection. Every failure a
user can meet becomes ``SshError`` with a Chinese sentence that names the host and
what to do; timeouts are bounded so a silent bastion cannot hang a command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import paramiko

DEFAULT_TIMEOUT = 15.0  # seconds per connect/auth/channel step, sized for a loaded 2-core box


class SshError(Exception):
    """A connection problem, already phrased for the user (Chinese)."""


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
    role: str = "堡垒机",
) -> paramiko.SSHClient:
    """An authenticated client for ``user@host:port`` whose host key is in ``known_hosts``
    (RejectPolicy: an unknown key is refused, a changed key is refused)."""
    where = f"{role} {host}:{port}"
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(str(known_hosts))
    except OSError as exc:
        raise SshError(
            f"无法读取 known_hosts 文件 {known_hosts}：{exc.strerror or exc}；"
            "主机密钥必须预先登记（与策略一起保存），cgcloud 不会自动接受"
        ) from None
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            host, port, username=user,
            key_filename=identity, look_for_keys=identity is None, allow_agent=identity is None,
            timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
            channel_timeout=timeout, sock=sock,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise SshError(
            f"{where} 的主机密钥与 {known_hosts} 中登记的不符（收到 {exc.key.get_name()} "
            f"{exc.key.fingerprint}）：可能是冒充的主机，也可能主机已重装；核实后再更新 known_hosts"
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise SshError(
            f"{where} 拒绝了 {user} 的密钥：账号未开通、访问已到期（expiry-time）或私钥不对"
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        if "not found in known_hosts" in str(exc):
            raise SshError(
                f"{where} 的主机密钥未在 {known_hosts} 中登记（{known_hosts_name(host, port)}）："
                "拒绝连接；请向云服务单位索取主机密钥指纹，核实后加入该文件"
            ) from None
        raise SshError(f"{where} SSH 协议错误：{exc}") from None
    except TimeoutError:
        client.close()
        raise SshError(f"{where} 在 {timeout:.0f} 秒内没有响应：主机可能已停机或网络不通") from None
    except OSError as exc:
        client.close()
        raise SshError(f"无法连接{where}：{exc.strerror or exc}（主机停机或端口未开）") from None
    return client


def open_direct(
    bastion: paramiko.SSHClient, host: str, port: int, *, timeout: float = DEFAULT_TIMEOUT,
    origin: tuple[str, int] = ("127.0.0.1", 0),
) -> paramiko.Channel:
    """A ``direct-tcpip`` channel from the bastion to ``host:port``."""
    transport = bastion.get_transport()
    if transport is None or not transport.is_active():
        raise SshError("与堡垒机的连接已断开")
    try:
        return transport.open_channel("direct-tcpip", (host, port), origin, timeout=timeout)
    except paramiko.ChannelException as exc:
        raise SshError(
            f"堡垒机拒绝转发到 {host}:{port}（{exc.text or exc}）：堡垒机上该账号没有这个目标的许可"
        ) from None
    except (paramiko.SSHException, OSError, TimeoutError) as exc:
        raise SshError(f"经堡垒机连接 {host}:{port} 失败：{exc}") from None


def through(
    bastion: paramiko.SSHClient, host: str, port: int, user: str, *,
    known_hosts: Path, identity: str | None = None, timeout: float = DEFAULT_TIMEOUT,
) -> paramiko.SSHClient:
    """A client for ``user@host:port`` reached through the bastion (both host keys checked)."""
    channel = open_direct(bastion, host, port, timeout=timeout)
    return connect(host, port, user, known_hosts=known_hosts, identity=identity,
                   timeout=timeout, sock=channel, role="目标主机")
