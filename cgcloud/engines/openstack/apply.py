"""The OpenStack engine's apply: the plan's steps in dependency order.

Order: projects → quotas (raised) → flavors → groups → rule deletes → rule creates →
port bindings → group deletes → quotas (lowered). Quotas go up before anything is
created and down only after deletes: Neutron refuses a quota below usage.
"""

from __future__ import annotations

import threading
import time
from functools import partial

from cgcloud import plan as p
from cgcloud.engines.base import ApplyResult, EngineError, Progress, Step
from cgcloud.engines.openstack import bulk, fingerprints
from cgcloud.engines.openstack.runner import Runner
from cgcloud.engines.steps import change_steps, fingerprint_steps, untag_steps
from cgcloud.engines.steps import group_ids as known_group_ids
from cgcloud.engines.steps import project_ids as known_project_ids
from cgcloud.i18n import _

QUOTA_SERVICE = {
    "instances": ("compute", "instances"),
    "cores": ("compute", "cores"),
    "ram_mb": ("compute", "ram"),
    "gigabytes": ("volume", "gigabytes"),
    "floating_ips": ("network", "floatingip"),
    "security_groups": ("network", "security_group"),
    "security_group_rules": ("network", "security_group_rule"),
}


class Applier:
    """Carries out plans and records fingerprints through one ``Runner``."""

    def __init__(self, run: Runner):
        self.run = run

    def apply(
        self,
        plan: p.Plan,
        actual: p.ActualState,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> ApplyResult:
        """Apply in dependency order; on a hard failure stop and say what was not done.

        Order: projects → quotas → flavors → groups (Neutron's default rules in a
        new group removed) → rule deletes → rule creates (bulk) → port bindings →
        group deletes. Every step is idempotent, so a re-run converges.
        ``stop``: set from outside (Ctrl-C, SIGTERM) it ends the apply like a failure
        does: steps in flight finish, nothing new starts, the rest is "not-done".
        """
        t0, r0 = time.monotonic(), self.run.api.requests
        result = ApplyResult()
        stop = stop if stop is not None else threading.Event()
        steps = change_steps(plan)
        untag = untag_steps(plan)
        result.steps, result.untagged = steps, untag
        self.run.one_by_one(self._write_fingerprint, untag, stop)
        project_ids = known_project_ids(actual)
        group_ids = known_group_ids(actual, plan)

        def phase(kind: str, action: str) -> list[Step]:
            return [s for s in steps if s.change.kind == kind and s.change.action == action]

        desired_rule_descs = {
            s.change.data["rule"].description
            for s in steps
            if s.change.kind == "rule" and s.change.action == "create"
        }
        self.run.map(
            partial(self._project_step, project_ids=project_ids),
            phase("project", "create") + phase("project", "update"),
            progress,
            "projects",
            stop,
        )
        quotas = phase("quota", "update")
        self.run.map(
            partial(self._quota_step, project_ids=project_ids, lower=False),
            quotas,
            progress,
            "quotas",
            stop,
        )
        self.run.map(self._flavor_step, phase("flavor", "create"), progress, "flavors", stop)
        if not stop.is_set():
            bulk.create_groups(
                self.run,
                phase("group", "create"),
                project_ids,
                group_ids,
                desired_rule_descs,
                progress,
                stop,
            )
        self.run.map(self._delete_step, phase("rule", "delete"), progress, "rule deletes", stop)
        if not stop.is_set():
            bulk.create_rules(
                self.run, phase("rule", "create"), group_ids, project_ids, progress, stop
            )
        self.run.map(
            partial(self._binding_step, group_ids=group_ids),
            phase("binding", "update"),
            progress,
            "bindings",
            stop,
        )
        self.run.map(self._delete_step, phase("group", "delete"), progress, "group deletes", stop)
        lowering = [s for s in quotas if s.status == "done"]
        self.run.map(
            partial(self._quota_step, project_ids=project_ids, lower=True),
            lowering,
            progress,
            "quotas (lowered)",
            stop,
        )
        result.requests = self.run.api.requests - r0
        result.seconds = time.monotonic() - t0
        return result

    def _project_step(self, s: Step, project_ids: dict[str | None, str]) -> None:
        c = s.change
        if c.action == "create":
            body = self.run.api.call(
                "identity",
                "POST",
                "/projects",
                json={
                    "project": {
                        "name": c.data["name"],
                        "description": c.data["description"],
                        "tags": c.data["tags"],
                        "domain_id": "default",
                        "enabled": True,
                    }
                },
            )
            s.id = body["project"]["id"]
            project_ids[c.system] = body["project"]["id"]
        else:
            self.run.api.call(
                "identity",
                "PATCH",
                f"/projects/{c.id}",
                json={
                    "project": {
                        "description": c.data["description"],
                        # Keystone replaces the tag list: the fingerprint still true stays
                        "tags": c.data["tags"]
                        + [fingerprints.tag(f) for f in c.data["fingerprints"]],
                    }
                },
            )

    def _quota_step(self, s: Step, project_ids: dict[str | None, str], lower: bool) -> None:
        """Raise before creating, lower after deleting: Neutron refuses a quota
        below current usage."""
        before = s.change.before or {}
        if lower:
            values = {k: v for k, v in s.change.data["set"].items() if v < (before.get(k) or 0)}
            if not values:
                return
        else:
            values = {k: max(v, before.get(k) or 0) for k, v in s.change.data["set"].items()}
        pid = project_ids.get(s.change.system)
        if pid is None:
            raise EngineError(_("{system} 的项目不存在").format(system=s.change.system))
        s.id = pid
        by_service: dict[str, dict[str, int]] = {}
        for key, value in values.items():
            service, name = QUOTA_SERVICE.get(key, ("volume", key))
            by_service.setdefault(service, {})[name] = value
        for service, chunk in by_service.items():
            if service == "network":
                self.run.api.call("network", "PUT", f"/quotas/{pid}", json={"quota": chunk})
            else:
                self.run.api.call(
                    service, "PUT", f"/os-quota-sets/{pid}", json={"quota_set": chunk}
                )

    def _flavor_step(self, s: Step) -> None:
        c = s.change
        body = self.run.api.call(
            "compute",
            "POST",
            "/flavors",
            microversion="2.55",
            json={
                "flavor": {
                    "name": c.data["name"],
                    "vcpus": c.data["vcpus"],
                    "ram": c.data["ram_mb"],
                    "disk": c.data["disk_gb"],
                    "description": "cgcloud: " + "、".join(sorted({r.form for r in c.reasons})),
                }
            },
        )
        s.id = body["flavor"]["id"]

    def _delete_step(self, s: Step) -> None:
        resource = "security-group-rules" if s.change.kind == "rule" else "security-groups"
        self.run.api.call("network", "DELETE", f"/{resource}/{s.change.id}", ok=(404,))
        s.id = s.change.id

    def _binding_step(self, s: Step, group_ids: dict[str | None, str]) -> None:
        c = s.change
        missing = [k for k in c.data["add"] if k not in group_ids]
        if missing:
            raise EngineError(_("安全组 {keys} 不存在").format(keys=", ".join(missing)))
        groups = list(dict.fromkeys(c.data["keep"] + [group_ids[k] for k in c.data["add"]]))
        self.run.api.call(
            "network",
            "PUT",
            f"/ports/{c.data['port_id']}",
            json={"port": {"security_groups": groups}},
        )
        s.id = c.data["port_id"]

    def record_fingerprints(
        self, fps: list[p.Fingerprint], applied: ApplyResult | None = None
    ) -> list[Step]:
        """Tag each project with its rule fingerprint; call only once the plan that
        listed ``fps`` was carried out in full (``applied``, when it changed anything:
        the ids of the projects it created). docs/enforce.md, "Settled projects".

        The old tag goes first: a failure in between leaves no tag, and a project
        without one is read in full by the next enforce pass."""
        steps = fingerprint_steps(fps, applied)
        # each on its own: a tag that could not be written only costs later passes a read
        self.run.one_by_one(self._write_fingerprint, steps, None)
        return steps

    def _write_fingerprint(self, s: Step) -> None:
        fingerprints.write(self.run.api, s)
