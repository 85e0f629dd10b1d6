"""The exporter's process: a background thread refreshes the snapshot on a schedule
(``Exporter``), a small HTTP server serves its bytes (``make_server``).

Why apart from the metrics: the refresh loop and the HTTP server are plumbing
(threads, sockets, signals); the metric computation (``cgcloud.exporter.metrics``)
is pure and tested from hand-built inputs.
"""

from __future__ import annotations

import ipaddress
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from cgcloud import clock
from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.backoff import Backoff
from cgcloud.exporter.metrics import Inputs, Rendered, compute, read_cloud, render
from cgcloud.i18n import _

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- the exporter


def make_clock(now: str | None = None, now_file: Path | None = None) -> Callable[[], datetime]:
    """The exporter's clock: fixed (--now), read from a file at each refresh (--now-file,
    a testing aid; empty or missing file = wall clock), or the wall clock."""
    if now is not None:
        fixed = clock.now_local(now)
        return lambda: fixed
    if now_file is not None:

        def from_file() -> datetime:
            try:
                text = now_file.read_text(encoding="utf-8").strip()
            except OSError:
                text = ""
            return clock.now_local(text or None)

        return from_file
    return lambda: clock.now_local(None)


class Exporter:
    """Refreshes a snapshot in a background thread and serves it over HTTP."""

    def __init__(
        self,
        paths: list[Path],
        cloud: str,
        *,
        refresh: float = 60.0,
        now: Callable[[], datetime] | None = None,
        include: list[Path] | None = None,
        engine_factory: Callable[[str], Any] | None = None,
        log: Callable[[str], None] | None = None,
        timeout: float | None = None,
        engine: str = "openstack",
    ):
        self.paths = paths
        self.timeout = timeout
        self.engine_name = engine  # the registry's name (cgcloud/engines/__init__.py)
        self.cloud = cloud
        self.interval = refresh
        self.now = now or make_clock()
        self.include = include or []
        self._engine_factory = engine_factory
        self._engine: Any = None
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._data = Rendered(b"")
        self._status = Rendered(b"")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0
        self.errors = 0
        self.last_success = 0.0
        self.last_duration = 0.0
        self.last_requests = 0
        self.last_ok = False
        self.cloud_up: bool | None = None  # None: not tried yet
        self.cloud_last_success = 0.0
        self.backoff = Backoff(first=min(5.0, refresh), cap=refresh)
        self.next_delay = refresh
        self.ready = threading.Event()
        self._render_status()

    # ---- refresh

    def engine(self) -> Any:
        if self._engine is None:
            if self._engine_factory is not None:
                self._engine = self._engine_factory(self.cloud)
            else:
                # by name from the registry: no engine is imported here (import contracts)
                from cgcloud import engines

                self._engine = engines.create(
                    self.engine_name, self.cloud, audit_path=None, timeout=self.timeout
                )
        return self._engine

    def gather(self, now: datetime) -> Inputs:
        """Policies → findings → desired state; cloud → view; diff. No rendering."""
        from cgcloud import validate as pipeline

        inp = Inputs(now=now)
        v = pipeline.validate(self.paths, now)
        inp.repo, inp.findings = v.repo, v.findings
        try:
            inp.state = d.compile(v.repo, now)
        except Exception as exc:  # noqa: BLE001 - a broken repository still gets findings
            self.log(f"cgcloud exporter: desired state not computed: {type(exc).__name__}: {exc}")
        try:
            inp.view = read_cloud(self.engine(), inp.state)
        except Exception:
            self.cloud_up = False
            self._engine = None  # the next try connects (and authenticates) afresh
            raise
        self.cloud_up, self.cloud_last_success = True, time.time()
        if inp.state is not None:
            inp.plan = p.diff(inp.state, inp.view.actual, cloud=self.cloud)
        return inp

    def refresh(self) -> bool:
        t0 = time.monotonic()
        self.refreshes += 1
        try:
            inp = self.gather(self.now())
            families = compute(inp) + list(_included(self.include))
            data = Rendered(render(families))
        except Exception as exc:  # noqa: BLE001 - keep serving the last good snapshot
            self.errors += 1
            self.last_ok = False
            self.next_delay = self.backoff.failed()
            self.log(
                _(
                    "cgcloud exporter: 刷新失败（第 {n} 次连续失败），{s:.0f} 秒后重试: {err}"
                ).format(n=self.backoff.failures, s=self.next_delay, err=_one_line(exc))
            )
        else:
            if self.backoff.failures:
                self.log(
                    _("cgcloud exporter: 刷新恢复正常（此前连续失败 {n} 次）").format(
                        n=self.backoff.failures
                    )
                )
            self.backoff.succeeded()
            self.next_delay = self.interval
            self.last_ok = True
            self.last_success = time.time()
            self.last_requests = inp.view.requests if inp.view else 0
            with self._lock:
                self._data = data
        self.last_duration = time.monotonic() - t0
        self._render_status()
        self.ready.set()
        return self.last_ok

    def _render_status(self) -> None:
        fams: list[Metric] = []

        def g(name: str, doc: str, value: float) -> None:
            m = GaugeMetricFamily(name, doc, labels=["cloud"])
            m.add_metric([self.cloud], value)
            fams.append(m)

        g(
            "cgcloud_exporter_last_refresh_success",
            "1 when the last refresh worked (else the previous snapshot is served).",
            1 if self.last_ok else 0,
        )
        g(
            "cgcloud_exporter_last_refresh_success_timestamp_seconds",
            "Wall time of the last successful refresh (0 = none yet).",
            self.last_success,
        )
        g(
            "cgcloud_exporter_refresh_duration_seconds",
            "Duration of the last refresh.",
            self.last_duration,
        )
        g(
            "cgcloud_exporter_refresh_api_requests",
            "OpenStack API requests of the last successful refresh.",
            self.last_requests,
        )
        g("cgcloud_exporter_refresh_interval_seconds", "Configured --refresh.", self.interval)
        g(
            "cgcloud_exporter_consecutive_refresh_failures",
            "Refreshes failed in a row (the "
            "next try waits a jittered back-off, at most --refresh).",
            self.backoff.failures,
        )
        if self.cloud_up is not None:
            g(
                "cgcloud_cloud_up",
                "1 when the last refresh read the cloud, 0 when it could "
                "not (unreachable, timed out, refused the credentials).",
                1 if self.cloud_up else 0,
            )
        g(
            "cgcloud_cloud_last_success_timestamp_seconds",
            "Wall time the cloud was last read in full (0 = never).",
            self.cloud_last_success,
        )
        c = CounterMetricFamily(
            "cgcloud_exporter_refreshes", "Refreshes attempted.", labels=["cloud"]
        )
        c.add_metric([self.cloud], self.refreshes)
        fams.append(c)
        e = CounterMetricFamily(
            "cgcloud_exporter_refresh_errors", "Refreshes that failed.", labels=["cloud"]
        )
        e.add_metric([self.cloud], self.errors)
        fams.append(e)
        with self._lock:
            self._status = Rendered(render(fams))

    def payload(self, gz: bool) -> bytes:
        with self._lock:
            data, status = self._data, self._status
        if gz:
            return data.gz() + status.gz() if data.text else status.gz()
        return data.text + status.text

    # ---- lifecycle

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                self.refresh()
                self._stop.wait(self.next_delay)

        self._thread = threading.Thread(target=loop, name="cgcloud-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def set_snapshot(self, families: Iterable[Metric]) -> None:
        """Serve these families (benchmarks and tests of the HTTP side)."""
        data = Rendered(render(families))
        with self._lock:
            self._data = data
        self.last_ok, self.last_success = True, time.time()
        self._render_status()
        self.ready.set()


def _included(paths: list[Path]) -> Iterator[Metric]:
    """Run results written by `--textfile` (apply/enforce), re-exposed for setups without a
    node-exporter textfile collector."""
    from prometheus_client.parser import text_string_to_metric_families

    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        yield from text_string_to_metric_families(text)


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one redacted line: cgcloud's own errors (Chinese, naming service and
    endpoint) as they are, others with their type."""
    from cgcloud.engines.base import EngineError
    from cgcloud.redact import redact

    text = str(exc) if isinstance(exc, EngineError) else (f"{type(exc).__name__}: {exc}")
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[:limit] + "…"


def make_server(exporter: Exporter, host: str, port: int, limits: Any = None) -> Any:
    """GET/HEAD /metrics serves the cached bytes (gzip when asked); nothing touches
    OpenStack. The server is bounded (cgcloud/exporter/http.py)."""
    from cgcloud.exporter.http import MetricsServer

    def handle(path: str, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        if path == "/metrics":
            gz = "gzip" in headers.get("accept-encoding", "")
            extra = [("Content-Type", CONTENT_TYPE_LATEST)]
            if gz:
                extra.append(("Content-Encoding", "gzip"))
            return 200, extra, exporter.payload(gz)
        if path in ("/-/healthy", "/-/ready"):
            ok = path == "/-/healthy" or exporter.ready.is_set()
            return (
                (200 if ok else 503),
                [("Content-Type", "text/plain")],
                (b"OK\n" if ok else b"not ready\n"),
            )
        if path == "/":
            return (
                200,
                [("Content-Type", "text/html")],
                (
                    b"<html><body><h1>cgcloud exporter</h1><a href='/metrics'>/metrics</a>"
                    b"</body></html>\n"
                ),
            )
        return 404, [("Content-Type", "text/plain")], b"not found\n"

    return MetricsServer(handle, host, port, limits, log=exporter.log)


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:9477` / `[::1]:9477` / `:9477` (= 127.0.0.1) / `localhost:9477`; a port
    outside 1–65535 or a host that is neither an IP address nor a host name is refused."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit():
        raise ValueError(_("--listen {v!r}: 应为 HOST:PORT，例如 127.0.0.1:9477").format(v=text))
    if not 1 <= int(port) <= 65535:
        raise ValueError(_("--listen {v!r}: 端口 {p} 不在 1–65535 之内").format(v=text, p=port))
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    host = host or "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if bracketed or not _HOSTNAME.fullmatch(host):
            raise ValueError(
                _("--listen {v!r}: {h!r} 不是 IP 地址或主机名").format(v=text, h=host)
            ) from None
    else:
        if ip.version == 6 and not bracketed:
            raise ValueError(
                _("--listen {v!r}: IPv6 地址要写在方括号里，例如 [::1]:9477").format(v=text)
            )
    return host, int(port)


_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
