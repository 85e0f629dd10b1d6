"""Opening an OpenStack cloud: clouds.yaml checked, every request bounded in time,
secrets registered for redaction, the devcloud found by one rule.

The one function that turns a cloud name into an openstacksdk connection; the engine,
the exporter and the enforce loop all go through it (through the engine).

- **Which cloud** (docs/reconcile.md, "Which cloud"). openstacksdk looks the name up as
  its users expect (``clouds.yaml`` in its search path, ``$OS_CLIENT_CONFIG_FILE``,
  ``secure.yaml``, ``OS_*`` variables). Only when no cloud of that name is configured
  there and the devcloud's ``clouds.yaml`` exists (``$CGCLOUD_DEVCLOUD_DIR/clouds.yaml``,
  default ``~/.cache/cgcloud/devcloud/clouds.yaml``) is the name looked up in that file,
  so ``--cloud devcloud`` works right after ``cgcloud devcloud up``. The process
  environment is never changed (setting ``OS_CLIENT_CONFIG_FILE`` leaked into every
  later connection of the process).

- **Time-outs.** openstacksdk passes clouds.yaml's ``api_timeout`` to keystoneauth's
  Session as one float, and without it requests wait forever on an endpoint that
  accepts a connection and never answers. keystoneauth hands ``Session.timeout`` to
  ``requests`` unchanged, and requests takes a ``(connect, read)`` pair, so we set that
  pair on the session: every request (token, catalog, version discovery and the API
  calls) gets both bounds.
- **clouds.yaml.** openstacksdk skips a clouds.yaml it cannot parse with a log warning,
  then says "Cloud X was not found"; we parse the file it would use first and report
  the YAML error with file:line:col.
- **Secrets.** Messages relayed from a cloud may echo a request (a password in a body,
  an ``X-Auth-Token`` header); `redact` removes the credentials in use and anything
  shaped like one before a message is printed, logged or written to the audit log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cgcloud.engines.base import CloudConfigError
from cgcloud.i18n import _
from cgcloud.redact import redact, register_secrets

DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds to establish a TCP connection (loopback or LAN)
DEFAULT_READ_TIMEOUT = 60.0  # seconds to wait for an answer (a 50,000-rule list: ~10 s)
DEVCLOUD_DIR_ENV = "CGCLOUD_DEVCLOUD_DIR"
DEVCLOUD_DEFAULT_DIR = Path("~/.cache/cgcloud/devcloud")


def devcloud_clouds_yaml() -> Path:
    """Where `cgcloud devcloud up` writes its clouds.yaml (same rule as its --dir default)."""
    raw = os.environ.get(DEVCLOUD_DIR_ENV) or DEVCLOUD_DEFAULT_DIR
    return Path(raw).expanduser() / "clouds.yaml"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Bounds of every API call: connect and read per HTTP request, and ``total`` for
    one call with its retries (no retry starts that could not end before it). A request
    that timed out is not retried: the endpoint is up but not answering, and a second
    wait would only double the time to the error."""

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT

    @property
    def total(self) -> float:
        return self.connect + self.read + 30.0

    @classmethod
    def resolve(cls, option: float | None, config: dict[str, Any]) -> Timeouts:
        """``--timeout`` wins, then clouds.yaml's ``api_timeout``, then the defaults. One
        number bounds the read; the connect bound is the smaller of it and 5 s."""
        value: Any = option if option is not None else config.get("api_timeout")
        if value in (None, ""):
            return cls()
        try:
            read = float(value)
        except (TypeError, ValueError):
            raise CloudConfigError(
                _("clouds.yaml 中 api_timeout 的值 {v!r} 不是秒数").format(v=value)
            ) from None
        if not 0 < read <= 86400:
            raise CloudConfigError(_("超时 {v} 秒不在 (0, 86400] 之内").format(v=value))
        return cls(connect=min(DEFAULT_CONNECT_TIMEOUT, read), read=read)


def config_files(clouds_yaml: Path | None = None) -> tuple[list[str], list[str]]:
    """The clouds.yaml and secure.yaml candidates, in openstacksdk's order of search
    (``clouds_yaml``: the one file the devcloud rule chose)."""
    from openstack.config import loader

    clouds, secure = list(loader.CONFIG_FILES), list(loader.SECURE_FILES)
    if clouds_yaml is not None:
        clouds = [str(clouds_yaml)]
    elif os.environ.get("OS_CLIENT_CONFIG_FILE"):
        clouds.insert(0, os.environ["OS_CLIENT_CONFIG_FILE"])
    if os.environ.get("OS_CLIENT_SECURE_FILE"):
        secure.insert(0, os.environ["OS_CLIENT_SECURE_FILE"])
    return clouds, secure


def check_config_files(clouds_yaml: Path | None = None) -> None:
    """Parse the clouds.yaml and secure.yaml openstacksdk would use (the first that exists
    of each): an unreadable or malformed one is reported, not skipped."""
    import yaml

    for candidates in config_files(clouds_yaml):
        for name in candidates:
            path = Path(name)
            if not path.exists():
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CloudConfigError(
                    _("无法读取云配置文件 {path}: {err}").format(
                        path=path, err=exc.strerror if isinstance(exc, OSError) else exc
                    )
                ) from None
            try:
                data = yaml.safe_load(text) if not name.endswith(".json") else _json(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
                problem = getattr(exc, "problem", None) or str(exc)
                raise CloudConfigError(
                    _("云配置文件格式错误 {where}: {problem}").format(where=where, problem=problem)
                ) from None
            except ValueError as exc:
                raise CloudConfigError(
                    _("云配置文件格式错误 {path}: {err}").format(path=path, err=exc)
                ) from None
            if data is not None and not isinstance(data, dict):
                raise CloudConfigError(
                    _("云配置文件 {path} 的顶层应是映射（clouds: ...）").format(path=path)
                )
            break  # openstacksdk reads only the first one that exists


def _json(text: str) -> Any:
    import json

    return json.loads(text)


def connect(cloud: str, timeout: float | None = None) -> Any:
    """A connection to ``cloud`` (clouds.yaml, secure.yaml, ``OS_*`` as openstacksdk users
    expect; the devcloud's clouds.yaml by the rule above) whose every request is bounded
    by `Timeouts`. Nothing is sent yet: authentication happens on first use."""
    import openstack
    import openstack.config
    import openstack.connection
    from openstack import exceptions as os_exc

    fallback = devcloud_clouds_yaml()
    use_fallback = fallback.exists() and not _named_cloud_exists(cloud)
    check_config_files(fallback if use_fallback else None)
    quiet_libraries()
    try:
        if use_fallback:
            cfg = openstack.config.OpenStackConfig(config_files=[str(fallback)])
            conn = openstack.connection.Connection(config=cfg.get_one(cloud=cloud))
        else:
            conn = openstack.connect(cloud=cloud)
    except os_exc.ConfigException as exc:
        raise CloudConfigError(_("云配置错误: {err}").format(err=redact(str(exc)))) from None
    bounds = Timeouts.resolve(timeout, conn.config.config)
    # requests takes (connect, read); keystoneauth passes Session.timeout through as is
    conn.session.timeout = (bounds.connect, bounds.read)  # type: ignore[assignment]
    conn.cgcloud_timeouts = bounds  # type: ignore[attr-defined]
    register_secrets(conn)
    return conn


def quiet_libraries() -> None:
    """keystoneauth and openstacksdk log retries and discovery fall-backs as warnings
    (to stderr through logging's last resort); cgcloud reports the outcome itself, in
    one line. ``--debug``-style tracing is left to ``logging`` configuration."""
    import logging

    for name in ("keystoneauth", "openstack", "stevedore"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _named_cloud_exists(cloud: str) -> bool:
    from openstack import config

    try:
        return cloud in config.OpenStackConfig().get_cloud_names()
    except Exception:  # noqa: BLE001 - a broken clouds.yaml is reported by connect()
        return True
