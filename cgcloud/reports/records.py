"""cgcloud's own files a report reads: the audit log (JSON lines) and reclaim records.

Formats: docs/reconcile.md "Audit log" and docs/enforce.md "Reclaim record". A line or
file that cannot be read is not skipped silently: it becomes a warning in the report
with its file and line.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from cgcloud.i18n import _


def _when(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def read_audit(
    path: Path | None, start: float, end: float, warnings: list[str]
) -> list[dict[str, Any]]:
    """Audit entries with ``start <= time < end``."""
    if path is None:
        return []
    if not path.is_file():
        warnings.append(_("审计日志 {p} 不存在：变更一节为空").format(p=path))
        return []
    out = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
                t = _when(e["time"])
            except (ValueError, KeyError, TypeError):
                t, e = None, None
            if t is None or not isinstance(e, dict):
                warnings.append(_("{p}:{n}: 无法解析的审计日志行，未计入").format(p=path, n=n))
                continue
            if start <= t < end:
                out.append(e)
    return out


def summarise_changes(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts the report shows: by result, action and kind, per system; rules opened/closed."""
    by_system: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    for e in entries:
        res = e.get("resource") or {}
        system = str(res.get("system") or "") or _("（无系统）")
        kind, action, result = (
            str(res.get("kind", "")),
            str(e.get("action", "")),
            str(e.get("result", "")),
        )
        keys = [f"result:{result}", f"{action}:{kind}"]
        if kind == "rule" and result == "done":
            keys.append(
                {"create": "rules_opened", "delete": "rules_closed"}.get(action, "rules_changed")
            )
        for k in keys:
            total[k] += 1
            by_system[system][k] += 1
    return {
        "total": len(entries),
        "done": total["result:done"],
        "failed": total["result:failed"],
        "rules_opened": total["rules_opened"],
        "rules_closed": total["rules_closed"],
        "by_kind": {
            k: v
            for k, v in sorted(total.items())
            if not k.startswith("result:") and not k.startswith("rules_")
        },
        "by_system": [
            {
                "system": s,
                "changes": sum(v for k, v in c.items() if k.startswith("result:")),
                "failed": c["result:failed"],
                "rules_opened": c["rules_opened"],
                "rules_closed": c["rules_closed"],
            }
            for s, c in sorted(by_system.items())
        ],
        "failures": [
            {
                "time": e.get("time"),
                "system": (e.get("resource") or {}).get("system"),
                "action": e.get("action"),
                "kind": (e.get("resource") or {}).get("kind"),
                "name": (e.get("resource") or {}).get("name"),
                "error": e.get("error", ""),
            }
            for e in entries
            if e.get("result") == "failed"
        ],
    }


def read_reclaims(
    directory: Path | None, start: float, end: float, warnings: list[str]
) -> list[dict[str, Any]]:
    """Reclaim records (回收记录-*.json) with the hosts deleted in ``[start, end)``."""
    if directory is None:
        return []
    if not directory.is_dir():
        warnings.append(_("回收记录目录 {p} 不存在：关停回收一节为空").format(p=directory))
        return []
    out = []
    for f in sorted(directory.glob("*.json")):
        try:
            rec = json.loads(f.read_text(encoding="utf-8"))
            if rec.get("format") != "cgcloud-reclaim/v1":
                continue
            hosts = [
                h
                for h in rec["hosts"]
                if (t := _when(h.get("deleted_at"))) is not None and start <= t < end
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            warnings.append(_("{p}: 无法解析的回收记录，未计入").format(p=f))
            continue
        sr = rec.get("system_reclaimed") or {}
        whole = bool(sr) and (t := _when(sr.get("at"))) is not None and start <= t < end
        if not hosts and not whole:
            continue
        out.append(
            {
                "notice": rec.get("notice", ""),
                "system": rec.get("system", ""),
                "cloud": rec.get("cloud", ""),
                "file": f.name,
                "hosts": len(hosts),
                "vcpus": sum(int(h.get("vcpus", 0)) for h in hosts),
                "memory_gb": sum(int(h.get("memory_mb", 0)) for h in hosts) / 1024,
                "storage_gb": sum(int(h.get("storage_gb", 0)) for h in hosts),
                "system_reclaimed": whole,
            }
        )
    return out
