"""The exporter's HTTP server is bounded (docs/reliability.md 6 and 10b).

Against the real server (cgcloud/metrics_server.py) on 127.0.0.1 with raw sockets:
HEAD, other methods, 1,000 idle connections, an idle time-out, a slowloris client, and
a hypothesis fuzz of methods, paths, headers and partial requests. After every attack a
real scrape must still answer within a bound, and the thread count must stay bounded.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgcloud import exporter as ex
from cgcloud.metrics_server import Limits

REPO = Path(__file__).resolve().parents[2]
SCRAPE_BOUND = 10.0  # seconds; a scrape answers in milliseconds on an idle machine


def _exporter() -> ex.Exporter:
    e = ex.Exporter([REPO / "policies"], "c1", engine_factory=lambda c: None, log=lambda m: None)
    fam = ex.GaugeMetricFamily("cgcloud_test_value", "t", labels=["a"])
    fam.add_metric(["x"], 7)
    e.set_snapshot([fam])
    return e


class Served:
    def __init__(self, limits: Limits | None = None):
        self.logs: list[str] = []
        e = _exporter()
        e.log = self.logs.append
        self.server = ex.make_server(e, "127.0.0.1", 0, limits)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def scrape(
        self, method: str = "GET", path: str = "/metrics"
    ) -> tuple[int, dict[str, str], bytes, float]:
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=SCRAPE_BOUND)
        try:
            c.request(method, path)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read(), time.monotonic() - t0
        finally:
            c.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served()
    yield s
    s.close()


def _open_fds_allow(n: int) -> bool:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft >= n


def test_head_is_get_without_the_body(served: Served) -> None:
    status, headers, body, _ = served.scrape("GET")
    h_status, h_headers, h_body, _ = served.scrape("HEAD")
    assert status == h_status == 200 and h_body == b""
    assert h_headers["Content-Length"] == headers["Content-Length"] == str(len(body))
    assert h_headers["Content-Type"] == headers["Content-Type"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"])
def test_other_methods_are_refused_with_405(served: Served, method: str) -> None:
    status, headers, _, _ = served.scrape(method)
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert served.scrape()[0] == 200


def test_a_thousand_idle_connections_do_not_stop_a_scrape() -> None:
    """1,000 sockets connect and say nothing (more than the 512-connection cap): a scrape
    still answers within the bound, and the server runs a fixed number of threads."""
    if not _open_fds_allow(1200):
        pytest.skip("needs 1,200 open files (ulimit -n); this machine allows fewer")
    before = threading.active_count()
    s = Served()
    idle: list[socket.socket] = []
    try:
        assert threading.active_count() - before <= Limits().threads + 2
        for _ in range(1000):
            idle.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
        status, _, body, took = s.scrape()
        assert status == 200 and b"cgcloud_test_value" in body
        assert took < SCRAPE_BOUND
        assert threading.active_count() - before <= Limits().threads + 2
        assert s.scrape("HEAD")[0] == 200
    finally:
        for c in idle:
            c.close()
        s.close()


def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    s = Served(Limits(idle_timeout=1, cleanup_interval=1))
    try:
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        t0 = time.monotonic()
        assert c.recv(1) == b""  # the server closed it
        assert time.monotonic() - t0 < 6
        c.close()
    finally:
        s.close()


def test_a_slowloris_client_is_cut_off_and_scrapes_go_on() -> None:
    """A client sends its request head one byte at a time, forever: it is closed after
    the head time-out, and meanwhile scrapes answer."""
    s = Served(Limits(head_timeout=1.5, idle_timeout=60, cleanup_interval=1))
    try:
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
        t0 = time.monotonic()
        closed = False
        for i in range(len(head)):
            try:
                c.sendall(head[i : i + 1])
            except OSError:
                closed = True
                break
            if i % 5 == 0:
                assert s.scrape()[0] == 200
            time.sleep(0.1)
            if time.monotonic() - t0 > 10:
                break
        if not closed:
            c.settimeout(5)
            try:
                closed = c.recv(1) == b""
            except OSError:
                closed = True
        assert closed, "the slow client was never cut off"
        assert time.monotonic() - t0 < 8
        c.close()
    finally:
        s.close()


def test_an_oversized_request_head_is_refused(served: Served) -> None:
    c = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
    reply = c.recv(200)
    c.close()
    assert reply.startswith(b"HTTP/1.") and reply.split(b"\r\n")[0].split()[1] == b"431"
    assert served.scrape()[0] == 200


# --------------------------------------------------------------------------- fuzzing

TOKEN = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=" "),
    min_size=0,
    max_size=12,
)
RAW = st.binary(min_size=0, max_size=300)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A request line + headers, well-formed or not, possibly cut short."""
    method = draw(st.sampled_from(["GET", "HEAD", "POST", "get", "", "G\x00T", "CONNECT"]) | TOKEN)
    path = draw(
        st.sampled_from(
            [
                "/metrics",
                "/",
                "/-/ready",
                "/-/healthy",
                "*",
                "/metrics?x=%zz",
                "//..//",
                "/%00",
                "http://h/metrics",
            ]
        )
        | st.text(max_size=40).map(lambda t: "/" + t)
    )
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2", "", "x"]))
    headers = draw(st.lists(st.tuples(TOKEN, st.text(max_size=40)), max_size=6))
    extra = draw(
        st.sampled_from(
            [
                b"",
                b"Content-Length: 5\r\n",
                b"Content-Length: -1\r\n",
                b"Transfer-Encoding: chunked\r\n",
                b"Content-Length: 99999999999999999999\r\n",
                b"Accept-Encoding: gzip\r\n",
            ]
        )
    )
    head = f"{method} {path} {version}\r\n".encode("utf-8", "surrogateescape")
    head += b"".join(f"{k}: {v}\r\n".encode("utf-8", "surrogatepass") for k, v in headers)
    data = head + extra + b"\r\n" + draw(RAW)
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    return data[:cut] if draw(st.booleans()) else data


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[Served]:
    s = Served(Limits(head_timeout=2, idle_timeout=2, cleanup_interval=1))
    yield s
    s.close()


@settings(
    max_examples=int(os.environ.get("CGCLOUD_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=requests(), close_early=st.booleans())
def test_fuzz_the_exporter_http_server(fuzz_server: Served, data: bytes, close_early: bool) -> None:
    """Whatever arrives (garbage, half a request, a bad length), the server answers with
    an HTTP status or closes the connection, and the next real scrape answers."""
    c = socket.create_connection(("127.0.0.1", fuzz_server.port), timeout=5)
    try:
        c.sendall(data)
        if close_early:
            c.shutdown(socket.SHUT_WR)
        c.settimeout(0.3)
        try:
            reply = c.recv(64)
        except (TimeoutError, ConnectionResetError):
            reply = b""
        if reply:
            assert reply.startswith(b"HTTP/1."), reply
            assert int(reply.split()[1]) in (
                200,
                400,
                404,
                405,
                408,
                411,
                413,
                431,
                500,
                501,
                503,
                505,
            )
    finally:
        c.close()
    status, _, body, took = fuzz_server.scrape()
    assert status == 200 and b"cgcloud_test_value" in body and took < SCRAPE_BOUND
    assert not [m for m in fuzz_server.logs if "Traceback" in m]


def test_the_exporter_process_prints_no_traceback_under_fuzzing(tmp_path: Path) -> None:
    """The real `cgcloud exporter` process (with a cloud that does not exist: refreshes
    fail, one line each) takes a burst of hostile requests; its stderr has no traceback
    and it still serves /metrics."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        PYTHONPATH=str(REPO), OS_CLIENT_CONFIG_FILE=str(tmp_path / "none.yaml"), HOME=str(tmp_path)
    )
    err = tmp_path / "stderr"
    with err.open("w") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cgcloud",
                "exporter",
                str(REPO / "policies"),
                "--cloud",
                "nowhere",
                "--listen",
                f"127.0.0.1:{port}",
                "--refresh",
                "5",
            ],
            stdout=subprocess.DEVNULL,
            stderr=fh,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.2)
        for raw in (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            b"GET /" + b"A" * 9000,
            b"POST /metrics HTTP/1.1\r\nContent-Length: 10\r\n\r\nab",
            b"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"\r\n\r\n\r\n",
            b"GET /metrics HTTP/9.9\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(raw)
                c.settimeout(1)
                with contextlib.suppress(OSError):
                    c.recv(100)
        c2 = http.client.HTTPConnection("127.0.0.1", port, timeout=SCRAPE_BOUND)
        c2.request("GET", "/metrics")
        r = c2.getresponse()
        body = r.read().decode()
        assert r.status == 200 and 'cgcloud_cloud_up{cloud="nowhere"} 0.0' in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = err.read_text()
    assert "Traceback" not in text, text
    assert "刷新失败" in text
