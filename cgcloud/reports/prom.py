"""A small client of Prometheus' HTTP API (``/api/v1/query``, ``query_range``, ``rules``).

Why not a client library: the report needs three GET endpoints and exact error
texts; ``requests`` (already installed with openstacksdk) gives connection reuse
and bounded timeouts, which is all of it.
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from cgcloud.i18n import _


class PromError(RuntimeError):
    """Prometheus could not be reached or refused a query (message in Chinese)."""


class TooManySamples(PromError):
    """The query would load more samples than the server allows (split it)."""


class Prometheus:
    """Queries against one Prometheus server; every call has a bounded timeout."""

    def __init__(self, url: str, timeout: float = 120.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self.queries = 0

    def _session(self) -> requests.Session:
        """One session per thread: the collector runs independent queries in parallel."""
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
        return s

    def _get(self, path: str, params: dict[str, str]) -> Any:
        with self._lock:
            self.queries += 1
        try:
            r = self._session().get(self.url + path, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise PromError(
                _("Prometheus {url} 在 {t:g} 秒内没有应答").format(url=self.url, t=self.timeout)
            ) from None
        except requests.RequestException as exc:
            raise PromError(
                _("无法连接 Prometheus {url}: {e}").format(url=self.url, e=type(exc).__name__)
            ) from None
        try:
            body = r.json()
        except ValueError:
            raise PromError(
                _("Prometheus {url} 返回的不是 API 应答（HTTP {code}）").format(
                    url=self.url, code=r.status_code
                )
            ) from None
        if body.get("status") != "success":
            err = str(body.get("error", ""))
            if "too many samples" in err:
                raise TooManySamples(err)
            raise PromError(
                _("Prometheus 拒绝查询 {q!r}: {e}").format(q=params.get("query", path), e=err)
            )
        return body["data"]

    def instant(self, expr: str, at: float) -> list[dict[str, Any]]:
        """Vector or matrix result of ``expr`` evaluated at ``at`` (Unix seconds)."""
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        return list(data["result"])

    def range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """Matrix of ``expr`` every ``step`` seconds from ``start`` to ``end``."""
        data = self._get(
            "/api/v1/query_range",
            {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"},
        )
        return list(data["result"])

    def alert_rules(self) -> dict[str, dict[str, Any]]:
        """Alerting rules the server loaded, by name: their labels and annotations."""
        data = self._get("/api/v1/rules", {"type": "alert"})
        return {
            r["name"]: r
            for g in data.get("groups", [])
            for r in g.get("rules", [])
            if r.get("type") == "alerting"
        }
