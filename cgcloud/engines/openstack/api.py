"""The OpenStack engine's ground floor: one connection, ``call`` with bounded retries,
request counting and Neutron/Nova/Cinder paging. Everything else in this package
(reads, apply, locks, decommission, usage) talks to the cloud through an ``Api``, so
nothing needs to reach back up into the engine for its private helpers.

Why raw REST through openstacksdk's service proxies (``conn.network.get(...)``)
and not its resource layer: we want exact control of the request count (one
paginated list per resource type, never a GET per rule), Neutron's bulk rule
create, and one place for retries. openstacksdk still does the part users
expect: clouds by name (clouds.yaml, ``OS_CLOUD``, secure.yaml), auth, catalog,
microversions. Nothing here prints or logs a credential.
"""

from __future__ import annotations

import getpass
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from cgcloud.engines.base import EngineError
from cgcloud.engines.openstack.connection import Timeouts, connect
from cgcloud.i18n import _
from cgcloud.redact import redact

TRANSIENT_STATUS = {429, 502, 503, 504}
PAGE_SIZE = 5000
SCOPE_CHUNK = 40  # project ids per scoped Neutron list (~1.8 kB of query string)
PROXY_ATTR = {
    "identity": "identity",
    "network": "network",
    "compute": "compute",
    "volume": "block_storage",
}


class Api:
    """One named cloud's connection: every request of the engine goes through ``call``."""

    def __init__(
        self,
        cloud: str,
        *,
        conn: Any = None,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float | None = None,
    ):
        self.cloud = cloud
        self.conn = conn if conn is not None else connect(cloud, timeout)
        self.timeouts: Timeouts = getattr(self.conn, "cgcloud_timeouts", None) or Timeouts()
        self.retries = retries
        self.backoff = backoff
        self._count_lock = threading.Lock()
        self.requests = 0
        self._wrap_session()
        self.actor = self._actor()

    def _wrap_session(self) -> None:
        session = self.conn.session
        original = session.request

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._count_lock:
                self.requests += 1
            return original(*args, **kwargs)

        session.request = counted

    def _actor(self) -> str:
        """Who acts: the local user and host, and the cloud user (audit log, leases)."""
        try:
            user = getpass.getuser()
        except Exception:  # noqa: BLE001 - no passwd entry in a container
            user = "unknown"
        cloud_user = (self.conn.config.config.get("auth") or {}).get("username", "")
        who = f"{user}@{socket.gethostname()}"
        return f"{who} ({cloud_user})" if cloud_user else who

    def _proxy(self, service: str) -> Any:
        """The service's proxy (only that one: creating a proxy can mean a round trip)."""
        return getattr(self.conn, PROXY_ATTR[service])

    def call(
        self,
        service: str,
        method: str,
        url: str,
        ok: tuple[int, ...] = (),
        recover: Callable[[], Any] | None = None,
        retries: int | None = None,
        idempotent: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One API call with retries on transient failures; returns the JSON body (or None).

        Bounded in time: every HTTP request has the connect and read time-outs of
        `connection.Timeouts`, and no retry starts that could not end before
        ``timeouts.total`` (so a black-hole endpoint costs one or two read time-outs,
        never ``retries`` of them). Messages are redacted of credentials.

        ``idempotent``: a write that is safe to repeat (setting or removing one tag), so
        a 500 is retried like a read's.
        ``recover``: for a create that is not idempotent. After a connection failure the
        request may have been carried out with its answer lost; before trying again,
        ``recover()`` looks (returns the body the create would have returned, or None)."""
        from keystoneauth1 import exceptions as ks

        delay = self.backoff
        last = ""
        retries = self.retries if retries is None else retries
        t0 = time.monotonic()
        deadline = t0 + self.timeouts.total
        attempt = 0
        for attempt in range(retries + 1):  # noqa: B007 - reported after the loop
            try:
                # the proxy's first use authenticates and discovers versions: bounded too
                resp = self._proxy(service).request(url, method, raise_exc=False, **kwargs)
            except (
                ks.ConnectFailure,
                ks.ConnectTimeout,
                ks.RetriableConnectionFailure,
                ks.EndpointNotFound,
            ) as exc:
                last = self._unreachable(service, exc)
                if isinstance(exc, ks.EndpointNotFound | ks.ConnectTimeout):
                    # no answer within the read time-out: not retried (Timeouts)
                    raise EngineError(f"{method} {service} {url}: {last}") from None
                if recover is not None and attempt < retries and self._may_retry(deadline, delay):
                    time.sleep(delay)
                    try:
                        found = recover()
                    except EngineError:
                        found = None
                    if found is not None:
                        return found
            except ks.ClientException as exc:  # auth refused, catalog without the service …
                raise EngineError(
                    _("云 {cloud} 的 {service} 服务: {err}").format(
                        cloud=self.cloud,
                        service=service,
                        err=redact(f"{type(exc).__name__}: {short(str(exc))}"),
                    )
                ) from None
            else:
                if resp.status_code < 400 or resp.status_code in ok:
                    if not resp.content:
                        return None
                    try:
                        return resp.json()
                    except ValueError:
                        return None
                last = redact(f"HTTP {resp.status_code}: {short(resp.text)}")
                # a read is safe to repeat: a 500 on GET is retried too (e.g. two Neutron
                # workers racing to create a project's default group inside a list call)
                retriable = TRANSIENT_STATUS | ({500} if method == "GET" or idempotent else set())
                if resp.status_code not in retriable:
                    raise EngineError(f"{method} {service} {url}: {last}")
            if attempt >= retries or not self._may_retry(deadline, delay):
                break
            time.sleep(delay)
            delay *= 2
        raise EngineError(
            _("{method} {service} {url}: {last}（重试 {n} 次，共 {s:.1f} 秒后放弃）").format(
                method=method,
                service=service,
                url=url,
                last=last,
                n=attempt,
                s=time.monotonic() - t0,
            )
        )

    def _may_retry(self, deadline: float, delay: float) -> bool:
        """Would one more attempt (after ``delay``) still end before the call's deadline?"""
        return time.monotonic() + delay + self.timeouts.read <= deadline

    def _unreachable(self, service: str, exc: Exception) -> str:
        """A connection failure or time-out, in Chinese, naming the service and endpoint."""
        from keystoneauth1 import exceptions as ks

        text = str(exc)
        found = re.search(r"https?://[^\s?:/]+(?::\d+)?[^\s?:]*", text)
        endpoint = found.group(0) if found else "?"
        if isinstance(exc, ks.ConnectTimeout):
            return _(
                "云 {cloud} 的 {service} 服务（{endpoint}）在 {connect:g} 秒内未能连接或 "
                "{read:g} 秒内没有应答"
            ).format(
                cloud=self.cloud,
                service=service,
                endpoint=endpoint,
                connect=self.timeouts.connect,
                read=self.timeouts.read,
            )
        if isinstance(exc, ks.EndpointNotFound):
            return _("云 {cloud} 的服务目录中没有 {service} 服务的端点").format(
                cloud=self.cloud, service=service
            )
        return _("无法连接云 {cloud} 的 {service} 服务（{endpoint}）: {err}").format(
            cloud=self.cloud,
            service=service,
            endpoint=endpoint,
            err=redact(f"{type(exc).__name__}: {short(text)}"),
        )

    def pages(
        self, resource: str, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """A Neutron list, page by page (limit/marker, following the `next` link)."""
        q: dict[str, Any] = {"limit": PAGE_SIZE, **(params or {})}
        while True:
            body = self.call("network", "GET", f"/{resource}", params=q)
            items = body.get(resource.replace("-", "_"), [])
            yield from items
            links = body.get(resource.replace("-", "_") + "_links") or []
            if not items or not any(link.get("rel") == "next" for link in links):
                return
            q = {**q, "marker": items[-1]["id"]}

    def scoped_pages(
        self, resource: str, scoped: bool, project_ids: list[str], params: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """All of a Neutron list, or only the given projects' (a few ids per request,
        so the query string stays short); nothing for a scope of no project."""
        if not scoped:
            yield from self.pages(resource, params)
            return
        for i in range(0, len(project_ids), SCOPE_CHUNK):
            yield from self.pages(
                resource, {**params, "project_id": project_ids[i : i + SCOPE_CHUNK]}
            )

    def list_pages(
        self, service: str, url: str, key: str, params: dict[str, Any], **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        """Nova/Cinder lists by limit/marker (they share the `<key>_links` convention)."""
        q: dict[str, Any] = {"limit": 1000, **params}
        while True:
            body = self.call(service, "GET", url, params=q, **kwargs) or {}
            items = body.get(key, [])
            yield from items
            if not items or not body.get(f"{key}_links"):
                return
            q = {**q, "marker": items[-1]["id"]}

    def authenticate(self) -> None:
        """Get a token now (bounded, one clear error): the catalog lookups of `services`
        would otherwise turn an unreachable Keystone into "no such service"."""
        from keystoneauth1 import exceptions as ks

        try:
            self.conn.session.get_token()
        except (ks.ConnectFailure, ks.ConnectTimeout, ks.RetriableConnectionFailure) as exc:
            raise EngineError(self._unreachable("identity", exc)) from None
        except ks.ClientException as exc:
            raise EngineError(
                _("云 {cloud} 的 identity 服务: {err}").format(
                    cloud=self.cloud, err=redact(f"{type(exc).__name__}: {short(str(exc))}")
                )
            ) from None


def short(text: str, limit: int = 300) -> str:
    """One line of at most ``limit`` characters (an error body can be a whole page)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
