"""The exporter's HTTP server: bounded in threads, connections and time.

Why waitress and not ``http.server``: ``ThreadingHTTPServer`` starts one thread per
connection and keeps it while the client sends nothing, so 1,000 idle sockets meant
1,000 threads and a scrape that could wait behind them. waitress (a maintained,
pure-Python WSGI server) reads every request in one event loop (``poll``, so no 1,024
descriptor ceiling of ``select``) and only hands complete requests to a fixed pool of
worker threads. On top of it this module adds what a metrics endpoint needs:

- a cap on open connections; when it is reached the oldest *idle* connection is closed
  to make room, so idle sockets can never lock a scrape out;
- an idle time-out (a connection with no request in flight) and a request-head time-out
  (a slowloris client trickling its headers is cut off after it);
- small limits on the request head and body; GET and HEAD only (HEAD: the GET's headers,
  no body); anything the application raises is a 500 and one log line, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

Handler = Callable[[str, dict[str, str]], tuple[int, list[tuple[str, str]], bytes]]


@dataclass(frozen=True, slots=True)
class Limits:
    """Documented in docs/reliability.md ("6. The exporter's HTTP server is bounded")."""

    threads: int = 4  # requests served at once
    connections: int = 512  # open sockets; beyond it the oldest idle one is closed
    idle_timeout: int = 15  # seconds a connection may stay open with no request
    head_timeout: float = 10.0  # seconds to send a complete request head
    cleanup_interval: int = 1  # how often (s) the time-outs above are checked
    max_head: int = 8192  # bytes of request line + headers
    max_body: int = 65536  # bytes of a request body (nothing here needs one)


class _Channel(HTTPChannel):
    """Notes when the request being read started (for the head time-out)."""

    head_started = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.head_started = time.time()
        return bool(super().received(data))


class _Server(TcpWSGIServer):
    channel_class = _Channel

    def maintenance(self, now: float) -> None:
        """Idle connections past ``channel_timeout`` (waitress), and requests whose
        head is still incomplete past the head time-out (ours)."""
        super().maintenance(now)
        cutoff = now - self.cgcloud_head_timeout
        for ch in list(self.active_channels.values()):
            if ch.request is not None and not ch.requests and ch.head_started < cutoff:
                ch.will_close = True

    def evict_if_full(self) -> None:
        """At the cap, close the least recently active connections that have no request
        in flight: a new connection (a scrape) is worth more than an idle one. Called
        between two polls only: a descriptor closed while a poll is being set up could be
        reused by the next accept and get the closed one's events (a reset scrape)."""
        excess = len(self._map) - self.adj.connection_limit + 1
        if excess <= 0:
            return
        idle = sorted(
            (
                ch
                for ch in self.active_channels.values()
                if ch.request is None
                and not ch.requests
                and not ch.will_close
                and not ch.total_outbufs_len
            ),
            key=lambda ch: ch.last_activity,
        )
        for ch in idle[:excess]:
            ch.handle_close()

    cgcloud_head_timeout = 10.0


class MetricsServer:
    """``serve_forever`` / ``shutdown`` / ``server_close`` like ``socketserver``."""

    def __init__(
        self,
        handler: Handler,
        host: str,
        port: int,
        limits: Limits | None = None,
        log: Callable[[str], None] | None = None,
    ):
        lim = limits or Limits()
        self.log = log or (lambda msg: None)
        _quiet_waitress()
        adj = Adjustments(
            host=host,
            port=port,
            threads=lim.threads,
            connection_limit=lim.connections,
            channel_timeout=lim.idle_timeout,
            cleanup_interval=lim.cleanup_interval,
            max_request_header_size=lim.max_head,
            max_request_body_size=lim.max_body,
            asyncore_use_poll=True,
            expose_tracebacks=False,
            ident="cgcloud-exporter",
            clear_untrusted_proxy_headers=True,
        )
        self._map: dict[int, Any] = {}
        self._dispatcher = ThreadedTaskDispatcher()
        self._dispatcher.set_thread_count(lim.threads)
        self._server = _Server(
            _wsgi(handler, self.log),
            self._map,
            True,
            None,
            dispatcher=self._dispatcher,
            adj=adj,
            sockinfo=adj.listen[0],
        )
        self._server.cgcloud_head_timeout = lim.head_timeout
        self.server_address = (self._server.effective_host, int(self._server.effective_port))
        self._stop = threading.Event()
        self._stopped = threading.Event()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        try:
            while not self._stop.is_set():
                self._server.evict_if_full()
                self._server.asyncore.loop(
                    timeout=poll_interval, map=self._map, use_poll=True, count=1
                )
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop the loop (from another thread) and wait for it."""
        self._stop.set()
        self._stopped.wait(5)

    def server_close(self) -> None:
        for ch in list(self._map.values()):
            with contextlib.suppress(OSError):
                ch.close()
        self._dispatcher.shutdown(timeout=5)


def _quiet_waitress() -> None:
    """waitress logs queue depth and connection-limit notes as warnings through logging's
    last resort (stderr); the exporter logs its own one-line messages instead."""
    logger = logging.getLogger("waitress")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


_REASONS = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _wsgi(handler: Handler, log: Callable[[str], None]) -> Callable[..., Iterable[bytes]]:
    """A WSGI application around ``handler(path, headers) -> (status, headers, body)``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if method not in ("GET", "HEAD"):
            body = b"only GET and HEAD\n"
            start_response(
                "405 Method Not Allowed",
                [
                    ("Allow", "GET, HEAD"),
                    ("Content-Type", "text/plain"),
                    ("Content-Length", str(len(body))),
                ],
            )
            return [body]
        headers = {
            k[5:].replace("_", "-").lower(): str(v)
            for k, v in environ.items()
            if k.startswith("HTTP_")
        }
        try:
            status, extra, body = handler(environ.get("PATH_INFO", "") or "/", headers)
        except Exception as exc:  # noqa: BLE001 - a scrape gets a 500, the server lives on
            log(f"cgcloud exporter: request failed: {type(exc).__name__}: {exc}")
            status, extra, body = 500, [("Content-Type", "text/plain")], b"internal error\n"
        start_response(
            f"{status} {_REASONS.get(status, 'OK')}", [*extra, ("Content-Length", str(len(body)))]
        )
        return [b""] if method == "HEAD" else [body]

    return app
