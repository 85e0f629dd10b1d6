"""Where each bastion's management endpoint and credentials come from: a file outside the
policy repository (``bastions.yaml``), never a password.

Looked up as ``--config``, else ``$CGCLOUD_BASTIONS``, else
``$XDG_CONFIG_HOME/cgcloud/bastions.yaml`` (``~/.config/cgcloud/bastions.yaml``)::

    bastions:
      - address: 172.21.0.10        # as in Zones.bastions of the policy repository
        endpoint: 172.21.0.10:22    # where SSH reaches it (default: address:22)
        user: root                  # management account (bastion plan/apply only)
        identity: ~/.ssh/cgcloud-bastion   # its private key file
        keys_dir: /etc/ssh/cgcloud-keys    # sshd's AuthorizedKeysFile /etc/ssh/cgcloud-keys/%u
    login: lisi                     # default --as for cgcloud ssh / tunnel
    identity: ~/.ssh/id_ed25519     # the operator's own private key for ssh / tunnel
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cgcloud.i18n import _

DEFAULT_KEYS_DIR = "/etc/ssh/cgcloud-keys"
_LOGIN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_BASTION_KEYS = {"address", "endpoint", "user", "identity", "keys_dir"}
_TOP_KEYS = {"bastions", "login", "identity"}


class ConfigError(ValueError):
    """A bastions.yaml problem (in the user's language, with the file and line when known)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    address: str
    host: str
    port: int
    user: str | None
    identity: str | None
    keys_dir: str


@dataclass(slots=True)
class Config:
    path: Path | None
    bastions: dict[str, Endpoint] = field(default_factory=dict)
    login: str | None = None
    identity: str | None = None

    def endpoint(self, address: str) -> Endpoint:
        found = self.bastions.get(address)
        if found is None:
            where = self.path or "bastions.yaml"
            raise ConfigError(
                _(
                    "{where} 中没有堡垒机 {address} 的连接配置（bastions: - address: {address}）"
                ).format(where=where, address=address)
            )
        return found


def default_path() -> Path:
    if os.environ.get("CGCLOUD_BASTIONS"):
        return Path(os.environ["CGCLOUD_BASTIONS"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cgcloud" / "bastions.yaml"


def _expand(value: Any) -> str | None:
    return None if value is None else os.path.expanduser(str(value))


def load(path: Path | None = None) -> Config:
    """Read the configuration; a missing default file is an empty configuration."""
    explicit = path is not None or bool(os.environ.get("CGCLOUD_BASTIONS"))
    path = path or default_path()
    if not path.exists():
        if explicit:
            raise ConfigError(_("堡垒机配置文件 {path} 不存在").format(path=path))
        return Config(None)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(
            _("{at}: 堡垒机配置不是有效的 YAML：{e}").format(at=at, e=getattr(exc, "problem", exc))
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            _("无法读取堡垒机配置文件 {path}：{e}").format(path=path, e=exc)
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            _("{path}: 堡垒机配置应为映射（bastions:、login:、identity:）").format(path=path)
        )
    _no_unknown(path, "", data, _TOP_KEYS)
    cfg = Config(path, login=data.get("login"), identity=_expand(data.get("identity")))
    if cfg.login is not None and not _LOGIN.fullmatch(str(cfg.login)):
        raise ConfigError(
            _("{path}: login {login!r} 不是有效的登录名").format(path=path, login=cfg.login)
        )
    items = data.get("bastions") or []
    if not isinstance(items, list):
        raise ConfigError(_("{path}: bastions 应为列表").format(path=path))
    for i, item in enumerate(items):
        where = f"bastions[{i}]"
        if not isinstance(item, dict) or "address" not in item:
            raise ConfigError(
                _("{path}: {where} 应为带 address 的映射").format(path=path, where=where)
            )
        _no_unknown(path, where + ".", item, _BASTION_KEYS)
        address = str(item["address"])
        host, port = _endpoint(path, where, str(item.get("endpoint") or f"{address}:22"))
        cfg.bastions[address] = Endpoint(
            address,
            host,
            port,
            None if item.get("user") is None else str(item["user"]),
            _expand(item.get("identity")),
            str(item.get("keys_dir") or DEFAULT_KEYS_DIR),
        )
    return cfg


def _no_unknown(path: Path, where: str, data: dict[str, Any], allowed: set[str]) -> None:
    for key in data:
        if key in ("password", "passphrase"):
            raise ConfigError(
                _("{path}: {where}{key}: 不支持密码；请用密钥文件（identity）").format(
                    path=path, where=where, key=key
                )
            )
        if key not in allowed:
            raise ConfigError(
                _("{path}: {where}{key}: 未知的配置项；可用: {ok}").format(
                    path=path, where=where, key=key, ok=_("、").join(sorted(allowed))
                )
            )


def _endpoint(path: Path, where: str, text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            _("{path}: {where}.endpoint {text!r} 应为 主机:端口，例如 172.21.0.10:22").format(
                path=path, where=where, text=text
            )
        )
    return host, int(port)
