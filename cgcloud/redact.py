"""Credentials never leave the process: `redact` removes them from any text before it is
printed, logged or written to the audit log.

Engine-neutral: an engine registers the credentials of its connections
(`register_secrets`), the CLI and the exporter redact what they print.
"""

from __future__ import annotations

import re
import threading
import weakref
from typing import Any

SECRET_KEYS = ("password", "application_credential_secret", "token", "secret")

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
