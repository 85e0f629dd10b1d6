"""A fault-injecting HTTP proxy on 127.0.0.1, put in front of the devcloud's Neutron.

Why: retries, hard failures and their reports must be proven against the real
Neutron, but a healthy Neutron never answers 503 or drops a connection on cue.
The proxy forwards every request to the real endpoint unchanged (the Host header
is kept, so the links Neutron returns point back at the proxy) and, for the
requests a `Fault` matches, answers an error, resets the connection before the
request reaches Neutron, or forwards it and then drops the response. `refuse()`
stops listening (connection refused, as when neutron-server is stopped);
`blackhole()` keeps accepting but never answers (a hung service: only time-outs end
the wait) until `passthrough()`.

Used through a clouds.yaml entry that copies the devcloud's and adds
``network_endpoint_override`` (see `faulty_clouds_yaml`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}


@dataclass
class Fault:
    """What to do with matching requests.

    action: ``delay`` (forward after `seconds`: a slow service), ``status`` (answer `status` with a Neutron-style JSON error, Neutron never
    sees the request), ``reset`` (TCP reset before forwarding), ``drop-response``
    (forward, then reset instead of answering: the change happened, the client does
    not know), ``refuse`` (reset this request and stop listening for good: Neutron
    went away mid-apply). `method`/`path` (regex, searched in the path with query) /
    `body` (substring of the request body) select requests; the first `skip`
    matches pass untouched, then `times` matches are faulted (None: all).
    """

    action: str = "status"
    method: str | None = None
    path: str | None = None
    body: str | None = None
    skip: int = 0
    times: int | None = 1
    status: int = 503
    seconds: float = 0.0
    echo: bool = False  # `status`: the error message repeats the request, headers and all
    message: str = "injected by the test fault proxy"
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str, body: bytes) -> bool:
        if self.method and self.method != method:
            return False
        if self.path and not re.search(self.path, path):
            return False
        return not (self.body and self.body.encode() not in body)

    def take(self) -> bool:
        """Count a matching request; True when this one is faulted."""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass
class Logged:
    method: str
    path: str
    outcome: str  # forwarded status ("200"), or the fault action


@dataclass
class FaultProxy:
    """A threaded proxy to `upstream` (host, port) on an ephemeral 127.0.0.1 port."""

    upstream: tuple[str, int]
    faults: list[Fault] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)  # X-Auth-Token values seen
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return  # quiet: the proxy keeps its own log

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._refusing = False
        self._closed = False
        self._holding = threading.Event()  # set: black hole
        self._released = threading.Event()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def count(
        self, outcome: str | None = None, method: str | None = None, path: str | None = None
    ) -> int:
        with self.lock:
            return sum(
                1
                for x in self.log
                if (outcome is None or x.outcome == outcome)
                and (method is None or x.method == method)
                and (path is None or re.search(path, x.path))
            )

    def blackhole(self) -> None:
        """From now on accept requests and never answer them."""
        self._released.clear()
        self._holding.set()

    def passthrough(self) -> None:
        """End the black hole: held requests are reset, new ones forwarded."""
        self._holding.clear()
        self._released.set()

    def refuse(self) -> None:
        """Stop listening: new connections are refused, kept-alive ones are reset."""
        self._refusing = True
        with self.lock:
            if self._closed:
                return
            self._closed = True
        self.server.shutdown()
        self.server.server_close()

    def close(self) -> None:
        self.passthrough()
        self.refuse()

    # ------------------------------------------------------------------ handling

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        if self._refusing:
            self._record(h, "refused")
            _reset(h)
            return
        if self._holding.is_set():
            self._record(h, "held")
            self._released.wait(600)  # the client's read time-out ends it first
            _reset(h)
            return
        fault = None
        with self.lock:
            for f in self.faults:
                if f.matches(h.command, h.path, body) and f.take():
                    fault = f
                    break
        if fault is not None and fault.action == "status":
            self._record(h, f"injected {fault.status}")
            message = fault.message
            if fault.echo:  # as a debugging proxy or a careless service would
                message += " request: " + " ".join(f"{k}: {v}" for k, v in h.headers.items())
                message += " " + body.decode("utf-8", "replace")
            payload = json.dumps(
                {
                    "NeutronError": {
                        "type": "HTTPServiceUnavailable",
                        "message": message,
                        "detail": "",
                    }
                }
            ).encode()
            h.send_response(fault.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        if fault is not None and fault.action == "refuse":
            # from now on the service is gone: this request is reset, later ones refused
            self._record(h, "refused")
            self._refusing = True
            threading.Thread(target=self.refuse, daemon=True).start()
            _reset(h)
            return
        if fault is not None and fault.action == "reset":
            self._record(h, "reset")
            _reset(h)
            return
        if fault is not None and fault.action == "delay":
            time.sleep(fault.seconds)
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(h.command, h.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if fault is not None and fault.action == "drop-response":
            self._record(h, f"dropped {resp.status}")
            _reset(h)
            return
        self._record(h, str(resp.status))
        h.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP:
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def _record(self, h: BaseHTTPRequestHandler, outcome: str) -> None:
        with self.lock:
            self.log.append(Logged(h.command, h.path, outcome))
            token = h.headers.get("X-Auth-Token")
            if token:
                self.tokens.add(token)


class _Server(ThreadingHTTPServer):
    """Closes a connection marked for reset without the FIN of shutdown(SHUT_WR)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.to_reset = set()

    to_reset: set[int]

    def shutdown_request(self, request: Any) -> None:
        if id(request) in self.to_reset:
            self.to_reset.discard(id(request))
            self.close_request(request)
        else:
            super().shutdown_request(request)


def _reset(h: BaseHTTPRequestHandler) -> None:
    """Close with a TCP RST (SO_LINGER 0): the client sees a reset, not a clean close."""
    with contextlib.suppress(OSError):
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True
    server = h.server
    if isinstance(server, _Server):
        server.to_reset.add(id(h.connection))


def faulty_clouds_yaml(
    devcloud_clouds_yaml: str | Path,
    out: Path,
    proxy_url: str | None,
    cloud: str = "devcloud",
    name: str = "devcloud-faulty",
    keystone_url: str | None = None,
) -> Path:
    """A clouds.yaml holding the devcloud's cloud twice: as-is, and as `name` whose
    Neutron endpoint is the proxy (``network_endpoint_override``) and, with
    ``keystone_url``, whose auth_url goes through a second proxy (Keystone's own links
    follow the Host header, so discovery stays on the proxy; the catalog it returns
    still names the real endpoints)."""
    import yaml

    data = yaml.safe_load(Path(devcloud_clouds_yaml).read_text(encoding="utf-8"))
    entry = dict(data["clouds"][cloud])
    if proxy_url is not None:
        entry["network_endpoint_override"] = proxy_url
    if keystone_url is not None:
        entry["auth"] = {**entry["auth"], "auth_url": keystone_url.rstrip("/") + "/v3"}
    data["clouds"][name] = entry
    out.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out.chmod(0o600)
    return out
