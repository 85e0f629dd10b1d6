"""The exporter's process: a background thread refreshes the snapshot on a schedule
(``Exporter``), a small HTTP server serves its bytes (``make_server``).

Why apart from the metrics: the refresh loop and the HTTP server are plumbing
(threads, sockets, signals); the metric computation (``cgcloud.exporter.metrics``)
is pure and tested from hand-built inputs.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from cgcloud import clock
from cgcloud import desired as d
from cgcloud import plan as p
from cgcloud.exporter.metrics import Inputs, Rendered, compute, read_cloud, render

if TYPE_CHECKING:
    from cgcloud.engines.base import Engine


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

    def __init__(self, paths: list[Path], cloud: str, *, refresh: float = 60.0,
                 now: Callable[[], datetime] | None = None,
                 include: list[Path] | None = None,
                 engine_factory: Callable[[str], Engine] | None = None,
                 log: Callable[[str], None] | None = None):
        self.paths = paths
        self.cloud = cloud
        self.interval = refresh
        self.now = now or make_clock()
        self.include = include or []
        self._engine_factory = engine_factory  # the CLI passes engines.create for --engine
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
        self.ready = threading.Event()
        self._render_status()

    # ---- refresh

    def engine(self) -> Any:
        if self._engine is None:
            if self._engine_factory is None:
                raise RuntimeError("no engine: Exporter(engine_factory=...) is required")
            self._engine = self._engine_factory(self.cloud)
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
        inp.view = read_cloud(self.engine(), inp.state)
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
            self._engine = None if _is_connection_error(exc) else self._engine
            self.log(f"cgcloud exporter: refresh failed: {type(exc).__name__}: {_short(exc)}")
        else:
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

        g("cgcloud_exporter_last_refresh_success", "1 when the last refresh worked (else the "
          "previous snapshot is served).", 1 if self.last_ok else 0)
        g("cgcloud_exporter_last_refresh_success_timestamp_seconds", "Wall time of the last "
          "successful refresh (0 = none yet).", self.last_success)
        g("cgcloud_exporter_refresh_duration_seconds", "Duration of the last refresh.",
          self.last_duration)
        g("cgcloud_exporter_refresh_api_requests", "OpenStack API requests of the last "
          "successful refresh.", self.last_requests)
        g("cgcloud_exporter_refresh_interval_seconds", "Configured --refresh.", self.interval)
        c = CounterMetricFamily("cgcloud_exporter_refreshes", "Refreshes attempted.",
                                labels=["cloud"])
        c.add_metric([self.cloud], self.refreshes)
        fams.append(c)
        e = CounterMetricFamily("cgcloud_exporter_refresh_errors", "Refreshes that failed.",
                                labels=["cloud"])
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
                self._stop.wait(self.interval)

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


def _is_connection_error(exc: Exception) -> bool:
    return "Connect" in type(exc).__name__ or "connect" in str(exc)[:200].lower()


def _short(exc: Exception, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "…"


def make_server(exporter: Exporter, host: str, port: int) -> ThreadingHTTPServer:
    """GET /metrics serves the cached bytes (gzip when asked); nothing touches OpenStack."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                gz = "gzip" in (self.headers.get("Accept-Encoding") or "")
                body = exporter.payload(gz)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                if gz:
                    self.send_header("Content-Encoding", "gzip")
            elif path in ("/-/healthy", "/-/ready"):
                ok = path == "/-/healthy" or exporter.ready.is_set()
                body = b"OK\n" if ok else b"not ready\n"
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "text/plain")
            elif path == "/":
                body = b"<html><body><h1>cgcloud exporter</h1><a href='/metrics'>/metrics</a>" \
                       b"</body></html>\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
            else:
                body = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return  # one line per scrape is noise

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:9477` / `[::1]:9477` / `:9477` (= 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9477")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)
