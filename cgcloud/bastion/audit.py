"""The bastion's entries in the audit log that `cgcloud apply` writes (one JSON line each).

Same file as apply (``$CGCLOUD_AUDIT_LOG`` or ``~/.local/state/cgcloud/audit.jsonl``),
so one log answers "who changed or used what, when". No secrets: public-key
fingerprints only.
"""

from __future__ import annotations

import getpass
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def default_path() -> Path:
    """As ``engines.openstack.AuditLog.default_path`` (kept in step; not imported: the
    bastion package does not depend on the OpenStack engine)."""
    if os.environ.get("CGCLOUD_AUDIT_LOG"):
        return Path(os.environ["CGCLOUD_AUDIT_LOG"])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "cgcloud" / "audit.jsonl"


def actor() -> str:
    """Who runs cgcloud (the local account; the forms' login is logged separately)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        return f"uid:{os.getuid()}"


class BastionAudit:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, action: str, **fields: Any) -> None:
        if self.path is None:
            return
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "actor": actor(),
            "kind": "bastion",
            "action": action,
            **fields,
        }
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
