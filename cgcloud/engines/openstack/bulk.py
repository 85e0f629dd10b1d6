"""Neutron's bulk creates: security groups and their rules, many per request.

A bulk is one transaction (all of it or nothing), so a group's identity written by
its create can never be half there; a failing rule bulk is retried rule by rule so
the report says exactly which rule failed.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cgcloud.engines.base import EngineError, Progress, Step
from cgcloud.engines.openstack import neutron
from cgcloud.engines.openstack.api import short
from cgcloud.engines.openstack.runner import Runner
from cgcloud.i18n import _


def create_groups(
    runner: Runner,
    steps: list[Step],
    project_ids: dict[str | None, str],
    group_ids: dict[str | None, str],
    desired_rule_descs: set[str],
    progress: Progress | None,
    stop: threading.Event,
) -> None:
    """Neutron bulk create (``bulk_size`` per request, one transaction each). The group's
    identity (`desired.group_description`'s key marker) is written by this one call:
    no second tagging call that could fail and leave an unrecognisable group.
    Neutron's default rules in a new group (if the cloud adds any) are removed."""
    done = 0
    for i in range(0, len(steps), runner.bulk_size):
        if stop.is_set():
            return
        chunk = steps[i : i + runner.bulk_size]
        bodies = []
        for s in chunk:
            pid = project_ids.get(s.change.system)
            if pid is None:
                s.status = "failed"
                s.error = _("{system} 的项目不存在").format(system=s.change.system)
                stop.set()
                runner.audit.write(s)
                return
            bodies.append(
                {
                    "name": s.change.data["name"],
                    "project_id": pid,
                    "description": s.change.data["description"][: neutron.DESCRIPTION_LIMIT],
                }
            )

        def recover(bodies: list[dict[str, Any]] = bodies) -> Any:
            """Did the lost bulk happen? (one transaction: all of it or nothing)"""
            pids = sorted({b["project_id"] for b in bodies})
            have = {
                (g["project_id"], g.get("description")): g
                for g in runner.api.call(
                    "network", "GET", "/security-groups", params={"project_id": pids}, retries=0
                )["security_groups"]
            }
            made = [have.get((b["project_id"], b["description"])) for b in bodies]
            if all(made):
                return {"security_groups": made}
            return None

        try:
            body = runner.api.call(
                "network",
                "POST",
                "/security-groups",
                recover=recover,
                json={"security_groups": bodies},
            )
        except EngineError as exc:
            for s in chunk:
                s.status, s.error = "failed", str(exc)
                runner.audit.write(s)
            stop.set()
            return
        for s, sg in zip(chunk, body["security_groups"], strict=True):
            s.status, s.id = "done", sg["id"]
            group_ids[s.change.data["key"]] = sg["id"]
            runner.audit.write(s)
        defaults = [
            r["id"]
            for sg in body["security_groups"]
            for r in sg.get("security_group_rules") or []
            if r.get("description") not in desired_rule_descs
        ]
        try:
            with ThreadPoolExecutor(runner.concurrency) as pool:
                list(
                    pool.map(
                        lambda rid: runner.api.call(
                            "network", "DELETE", f"/security-group-rules/{rid}", ok=(404,)
                        ),
                        defaults,
                    )
                )
        except EngineError:
            stop.set()  # the groups exist; the next plan shows these rules as drift
            raise
        done += len(chunk)
        if progress:
            progress("groups", done, len(steps))


def create_rules(
    runner: Runner,
    steps: list[Step],
    group_ids: dict[str | None, str],
    project_ids: dict[str | None, str],
    progress: Progress | None,
    stop: threading.Event,
) -> None:
    """Neutron bulk create: one request per group (Neutron refuses a bulk that spans
    groups: SecurityGroupNotSingleGroupRules), ``bulk_size`` rules at most, requests run
    with bounded concurrency. A failing bulk is retried rule by rule so the report
    says exactly which rule failed (409 "exists" counts as done)."""
    by_group: dict[str, list[Step]] = {}
    for s in steps:
        by_group.setdefault(s.change.data["rule"].group_key, []).append(s)
    batches = [
        ss[i : i + runner.bulk_size]
        for ss in by_group.values()
        for i in range(0, len(ss), runner.bulk_size)
    ]
    done = 0
    lock = threading.Lock()

    def run(chunk: list[Step]) -> None:
        nonlocal done
        if stop.is_set():
            return
        gid = group_ids.get(chunk[0].change.data["rule"].group_key)
        if gid is None:
            for s in chunk:
                s.status, s.error = "failed", _("规则所属的安全组不存在")
                runner.audit.write(s)
            stop.set()
            return
        bodies = [
            neutron.rule_body(s.change.data["rule"], gid, project_ids.get(s.change.system))
            for s in chunk
        ]
        try:
            body = runner.api.call(
                "network",
                "POST",
                "/security-group-rules",
                json={"security_group_rules": bodies},
            )
            for s, made in zip(chunk, body["security_group_rules"], strict=True):
                s.status, s.id = "done", made["id"]
                runner.audit.write(s)
        except EngineError:
            for s, one in zip(chunk, bodies, strict=True):
                if stop.is_set():
                    break
                try:
                    made = runner.api.call(
                        "network",
                        "POST",
                        "/security-group-rules",
                        json={"security_group_rule": one},
                        ok=(409,),
                    )
                    if "security_group_rule" not in (made or {}):
                        # 409 is both "exists" (done) and OverQuota (not done)
                        err = json.dumps(made, ensure_ascii=False)
                        if "SecurityGroupRuleExists" not in err:
                            raise EngineError(
                                f"POST network /security-group-rules: HTTP 409: {short(err)}"
                            )
                    s.status = "done"
                    s.id = (made or {}).get("security_group_rule", {}).get("id")
                except EngineError as exc:
                    s.status, s.error = "failed", str(exc)
                    stop.set()
                runner.audit.write(s)
        with lock:
            done += len(chunk)
            if progress:
                progress("rules", done, len(steps))

    with ThreadPoolExecutor(runner.concurrency) as pool:
        list(pool.map(run, batches))
