"""Opening a cloud: clouds.yaml checked, every request bounded in time, secrets kept in.

Why here and not in the engine: this is the one function that turns a cloud name into a
connection (and the knowledge of what must never be printed from it); the engine, the
exporter and the enforce loop all go through it.

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
import re
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cgcloud.i18n import _

DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds to establish a TCP connection (loopback or LAN)
DEFAULT_READ_TIMEOUT = 60.0  # seconds to wait for an answer (a 50,000-rule list: ~10 s)
DEVCLOUD_CLOUDS_YAML = Path.home() / ".cache" / "cgcloud" / "devcloud" / "clouds.yaml"
SECRET_KEYS = ("password", "application_credential_secret", "token", "secret")


class CloudConfigError(RuntimeError):
    """clouds.yaml is missing the cloud, unreadable or not valid YAML (a user mistake)."""


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


def config_files() -> tuple[list[str], list[str]]:
    """The clouds.yaml and secure.yaml candidates, in openstacksdk's order of search."""
    from openstack.config import loader

    clouds, secure = list(loader.CONFIG_FILES), list(loader.SECURE_FILES)
    if os.environ.get("OS_CLIENT_CONFIG_FILE"):
        clouds.insert(0, os.environ["OS_CLIENT_CONFIG_FILE"])
    if os.environ.get("OS_CLIENT_SECURE_FILE"):
        secure.insert(0, os.environ["OS_CLIENT_SECURE_FILE"])
    return clouds, secure


def check_config_files() -> None:
    """Parse the clouds.yaml and secure.yaml openstacksdk would use (the first that exists
    of each): an unreadable or malformed one is reported, not skipped."""
    import yaml

    for candidates in config_files():
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
    expect; the devcloud's clouds.yaml by name as a fallback) whose every request is
    bounded by `Timeouts`. Nothing is sent yet: authentication happens on first use."""
    import openstack
    from openstack import exceptions as os_exc

    if (
        "OS_CLIENT_CONFIG_FILE" not in os.environ
        and DEVCLOUD_CLOUDS_YAML.exists()
        and not _named_cloud_exists(cloud)
    ):
        os.environ["OS_CLIENT_CONFIG_FILE"] = str(DEVCLOUD_CLOUDS_YAML)
    check_config_files()
    quiet_libraries()
    try:
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


# --------------------------------------------------------------------------- secrets

_SESSIONS: weakref.WeakSet[Any] = weakref.WeakSet()  # not kept alive by redaction
_LITERALS: set[str] = set()
_LOCK = threading.Lock()
_HEADER = re.compile(
    r"(?i)\b(x-(?:auth|subject|service)-token|authorization)(\"?\s*[:=]\s*\"?)"
    r"(?:bearer\s+)?[^\s\"',;}]+"
)
_KEYED = re.compile(
    r"(?i)([\"']?\b(?:" + "|".join(SECRET_KEYS) + r")[\"']?\s*[:=]\s*)"
    r"(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,;&{}\[\]]+)"
)
_TOKEN_SHAPED = re.compile(r"\bgAAAAA[A-Za-z0-9_\-]{20,}")  # Keystone fernet tokens
MASK = "***"


def register_secrets(conn: Any) -> None:
    """Remember a connection's credentials (and, lazily, its token) for `redact`."""
    auth = (conn.config.config.get("auth") or {}) if hasattr(conn, "config") else {}
    with _LOCK:
        for key in SECRET_KEYS:
            value = auth.get(key)
            if isinstance(value, str) and len(value) >= 4:
                _LITERALS.add(value)
        session = getattr(conn, "session", None)
        if session is not None:
            _SESSIONS.add(session)


def _current_tokens() -> set[str]:
    out = set()
    for session in list(_SESSIONS):
        ref = getattr(getattr(session, "auth", None), "auth_ref", None)
        token = getattr(ref, "auth_token", None)
        if isinstance(token, str) and token:
            out.add(token)
    return out


def redact(text: str) -> str:
    """``text`` without the credentials in use (literal, JSON-escaped or URL-quoted) and
    without values of token headers and password/secret/token keys."""
    import json
    from urllib.parse import quote

    with _LOCK:
        literals = set(_LITERALS)
    literals |= _current_tokens()
    for secret in sorted(literals, key=len, reverse=True):
        for form in {secret, json.dumps(secret)[1:-1], quote(secret, safe="")}:
            text = text.replace(form, MASK)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _KEYED.sub(_keyed, text)
    return _TOKEN_SHAPED.sub(MASK, text)


def _keyed(m: re.Match[str]) -> str:
    key, value = m.group(1), m.group(2)
    quote_char = value[0] if value[:1] in ("'", '"') else ""
    return f"{key}{quote_char}{MASK}{quote_char}"
