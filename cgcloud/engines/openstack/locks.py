"""Leases on an OpenStack cloud: a disabled Keystone project per lease.

Project names are unique per domain, so creating one is atomic for every machine
that talks to the cloud; the description holds who took it and until when. The
reads leave these projects out (``LOCK_TAG``).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from cgcloud.engines.base import (
    APPLY_LOCK,
    DEFAULT_LOCK_TTL,
    WATCH_LOCK,
    EngineError,
    LockHeld,
    LockHolder,
)
from cgcloud.engines.openstack.api import Api
from cgcloud.i18n import _

LOCK_NAME = APPLY_LOCK
WATCH_LOCK_NAME = WATCH_LOCK
LOCK_TAG = "cgcloud:lock"


class Leases:
    """The leases this process holds on one cloud (by name: their project ids)."""

    def __init__(self, api: Api):
        self.api = api
        self._lock_ids: dict[str, str] = {}

    def acquire_lock(
        self, ttl: timedelta = DEFAULT_LOCK_TTL, owner: str | None = None, name: str = LOCK_NAME
    ) -> None:
        """A lease as a disabled Keystone project named cgcloud-lock: names are unique per
        domain, so creating it is atomic for every machine that talks to this cloud.
        ``name`` picks another lease of the same kind (``enforce --watch`` holds
        WATCH_LOCK_NAME for its whole life)."""
        owner = owner or f"{self.api.actor} pid {os.getpid()}"
        now = datetime.now(UTC)
        info = {
            "owner": owner,
            "acquired": now.isoformat(timespec="seconds"),
            "expires": (now + ttl).isoformat(timespec="seconds"),
        }
        for _attempt in range(2):
            body = self.api.call(
                "identity",
                "POST",
                "/projects",
                ok=(409,),
                json={
                    "project": {
                        "name": name,
                        "description": json.dumps(info, ensure_ascii=False),
                        "tags": [LOCK_TAG],
                        "enabled": False,
                        "domain_id": "default",
                    }
                },
            )
            if body and "project" in body:
                self._lock_ids[name] = body["project"]["id"]
                return
            held = self.lock_holder(name)
            if held is None:
                continue  # released meanwhile: try again
            pid = held.id
            if datetime.fromisoformat(held.expires) > now:
                raise LockHeld(
                    _(
                        "云 {cloud} 已被 {owner} 锁定（自 {since} 至 {until}）；请等待，"
                        "若那次运行已中止，请删除 Keystone 项目 {name}（{id}）"
                    ).format(
                        cloud=self.api.cloud,
                        owner=held.owner,
                        since=held.acquired,
                        until=held.expires,
                        name=name,
                        id=pid,
                    )
                )
            # expired: delete exactly that lease (by id) and try once more
            self.api.call("identity", "DELETE", f"/projects/{pid}", ok=(404,))
        raise LockHeld(
            _("云 {cloud}: 未能取得锁（另一次运行抢先取得）").format(cloud=self.api.cloud)
        )

    def lock_holder(self, name: str = LOCK_NAME) -> LockHolder | None:
        body = self.api.call("identity", "GET", "/projects", params={"name": name})
        for x in body.get("projects", []):
            try:
                info = json.loads(x.get("description") or "{}")
            except ValueError:
                info = {}
            if not isinstance(info, dict):
                info = {}
            return LockHolder(
                x["id"], **{k: str(info[k]) for k in ("owner", "acquired", "expires") if k in info}
            )
        return None

    def release_lock(self, name: str = LOCK_NAME) -> None:
        lock_id = self._lock_ids.pop(name, None)
        if lock_id is not None:
            self.api.call("identity", "DELETE", f"/projects/{lock_id}", ok=(404,))

    def renew_lock(self, ttl: timedelta, name: str = LOCK_NAME) -> None:
        """Push a held lease's expiry forward (a long-lived loop renews it every pass)."""
        lock_id = self._lock_ids.get(name)
        if lock_id is None:
            raise EngineError(_("未持有租约 {name}").format(name=name))
        body = self.api.call("identity", "GET", f"/projects/{lock_id}", ok=(404,))
        if not body or "project" not in body:
            self._lock_ids.pop(name, None)
            raise LockHeld(
                _("云 {cloud}: 租约 {name} 已被他人删除").format(cloud=self.api.cloud, name=name)
            )
        info = json.loads(body["project"].get("description") or "{}")
        info["expires"] = (datetime.now(UTC) + ttl).isoformat(timespec="seconds")
        self.api.call(
            "identity",
            "PATCH",
            f"/projects/{lock_id}",
            json={"project": {"description": json.dumps(info, ensure_ascii=False)}},
        )
