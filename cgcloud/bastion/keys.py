"""SSH public keys as written in a form: parse strictly, judge type and size.

Pure: the key text comes from a signed form and ends up in a bastion's
``authorized_keys``, so anything but ``TYPE BASE64 [comment]`` on one line is
refused (an ``authorized_keys`` option or a newline in the form would otherwise
grant more than the form says). ``cryptography`` (already a paramiko dependency)
decodes the blob, so a truncated or mistyped key is caught here, not at login.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from cgcloud.i18n import _

MIN_RSA_BITS = 3072
ACCEPTED = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
_LINE = re.compile(
    r"(?P<type>[A-Za-z0-9@.-]+) (?P<blob>[A-Za-z0-9+/]+={0,3})(?: (?P<comment>[^\r\n]*))?"
)


class BadKey(ValueError):
    """A key that cannot be used; the message, in the user's language, names the problem."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A parsed public key. ``openssh`` is ``TYPE BASE64`` without the comment: the only
    part cgcloud ever writes to a bastion."""

    type: str
    blob: str
    bits: int
    comment: str = ""

    @property
    def openssh(self) -> str:
        return f"{self.type} {self.blob}"

    @property
    def fingerprint(self) -> str:
        """``SHA256:…`` as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse(text: str) -> PublicKey:
    """Parse one OpenSSH public key line; raise BadKey with the reason (a message)."""
    line = text.strip()
    match = _LINE.fullmatch(line)
    if match is None:
        if "\n" in line or "\r" in line:
            raise BadKey(_("公钥只能是一行"))
        raise BadKey(
            _(
                "公钥格式应为“类型 base64 [注释]”，例如 ssh-ed25519 AAAAC3Nza… lisi@laptop；"
                "不能带 authorized_keys 选项"
            )
        )
    key_type, blob = match["type"], match["blob"]
    if key_type == "ssh-dss":
        raise BadKey(_("不接受 DSA 公钥（ssh-dss）：DSA 只有 1024 位且已被 OpenSSH 停用"))
    if key_type not in ACCEPTED:
        raise BadKey(
            _("不支持的公钥类型 {t}；可用: {ok}").format(t=key_type, ok=_("、").join(ACCEPTED))
        )
    try:
        raw = base64.b64decode(blob, validate=True)
    except binascii.Error:
        raise BadKey(_("公钥的 base64 部分无法解码：可能复制不完整")) from None
    if not raw.startswith(len(key_type).to_bytes(4, "big") + key_type.encode()):
        raise BadKey(_("公钥类型 {t} 与内容不符：可能复制不完整或类型写错").format(t=key_type))
    try:
        key = load_ssh_public_key(f"{key_type} {blob}".encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise BadKey(_("公钥无法解析（{e}）：可能复制不完整").format(e=exc)) from None
    if isinstance(key, dsa.DSAPublicKey):  # pragma: no cover - refused by type above
        raise BadKey(_("不接受 DSA 公钥"))
    if isinstance(key, rsa.RSAPublicKey):
        bits = key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.curve.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        bits = 256
    else:  # pragma: no cover - ACCEPTED lists only the types above
        raise BadKey(_("不支持的公钥类型 {t}").format(t=key_type))
    return PublicKey(key_type, blob, bits, match["comment"] or "")


def weakness(key: PublicKey) -> str | None:
    """Why the key is too weak to accept (None when it is acceptable)."""
    if key.type == "ssh-rsa" and key.bits < MIN_RSA_BITS:
        return _("RSA 公钥只有 {bits} 位，至少需要 {min} 位（建议改用 ssh-ed25519）").format(
            bits=key.bits, min=MIN_RSA_BITS
        )
    return None
