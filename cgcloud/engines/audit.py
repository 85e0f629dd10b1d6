"""The audit log every engine writes: one JSON line per change it made or tried."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from cgcloud import desired as d
from cgcloud.engines.base import Step
from cgcloud.statedir import state_path


class AuditLog:
    """Append-only JSON lines: time, actor, cloud, action, resource, form ids, result."""

    def __init__(self, path: Path | None, cloud: str, actor: str):
        self.path = path
        self.cloud = cloud
        self.actor = actor
        self._lock = threading.Lock()

    @staticmethod
    def default_path() -> Path:
        return state_path("CGCLOUD_AUDIT_LOG", "audit.jsonl")

    def write(self, step: Step) -> None:
        if self.path is None:
            return
        c = step.change
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "actor": self.actor,
            "cloud": self.cloud,
            "action": c.action,
            "resource": {"kind": c.kind, "name": c.name, "id": step.id or c.id, "system": c.system},
            "forms": sorted({r.form for r in c.reasons}),
            "reasons": [d.description_for(r) if r.row else r.form for r in c.reasons],
            "result": step.status,
        }
        if step.error:
            entry["error"] = step.error
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
