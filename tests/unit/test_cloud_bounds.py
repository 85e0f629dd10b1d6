"""Bounded time against a cloud, and secrets that never leave (docs/reliability.md 4, 8b).

Real sockets on 127.0.0.1, no devcloud needed: a *black hole* (accepts TCP connections
and never answers), a Keystone impostor that echoes the request it got (password and
all) in its 401 body, and malformed clouds.yaml files on disk. The CLI runs as a user
runs it (a subprocess), so what reaches stdout/stderr is exactly what a user would see.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
PASSWORD = "Pw-s3cr3t!-7f2a"  # noqa: S105 - the test's own credential, checked for leaks
NOW = "2027-01-15T10:00"


class BlackHole:
    """Accepts connections on 127.0.0.1 and never sends a byte (a hung API endpoint)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.accepted += 1

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


class EchoKeystone:
    """An impostor Keystone: discovery works, every token request gets a 401 whose body
    echoes the request's body and headers (as some proxies and debug servers do)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                port = self.server.server_address[1]
                self._send(
                    200,
                    {
                        "version": {
                            "id": "v3.14",
                            "status": "stable",
                            "links": [{"rel": "self", "href": f"http://127.0.0.1:{port}/v3/"}],
                        }
                    },
                )

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                echoed = (
                    "X-Auth-Token: gAAAAABmSomeFernetTokenLookingValue0123456789 "
                    f"could not authenticate {body.decode()} "
                    + " ".join(f"{k}: {v}" for k, v in self.headers.items())
                )
                self._send(
                    401, {"error": {"code": 401, "title": "Unauthorized", "message": echoed}}
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _clouds_yaml(path: Path, auth_url: str, **extra: Any) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "clouds": {
                    "c": {
                        "auth": {
                            "auth_url": auth_url,
                            "username": "admin",
                            "password": PASSWORD,
                            "project_name": "admin",
                            "user_domain_name": "Default",
                            "project_domain_name": "Default",
                        },
                        "region_name": "RegionOne",
                        "identity_api_version": 3,
                        **extra,
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    return path


def _cgcloud(
    *args: str, clouds: Path, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(clouds), PYTHONPATH=str(REPO), HOME=str(clouds.parent))
    t0 = time.monotonic()
    r = subprocess.run(
        [sys.executable, "-m", "cgcloud", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=clouds.parent,
        timeout=timeout,
    )
    return r, time.monotonic() - t0


@pytest.fixture
def hole() -> Iterator[BlackHole]:
    h = BlackHole()
    yield h
    h.close()


@pytest.mark.parametrize("how", ["option", "clouds.yaml"])
def test_a_black_hole_keystone_fails_plan_within_the_bound(
    tmp_path: Path, hole: BlackHole, how: str
) -> None:
    """`--timeout 2` (or `api_timeout: 2` in clouds.yaml): version discovery and the token
    request each wait 2 s at most, nothing is retried after a time-out; one Chinese line
    names the service and the endpoint. Without the time-outs this hangs for ever."""
    extra = {"api_timeout": 2} if how == "clouds.yaml" else {}
    clouds = _clouds_yaml(tmp_path / "clouds.yaml", f"http://127.0.0.1:{hole.port}/v3", **extra)
    opts = ["--timeout", "2"] if how == "option" else []
    r, took = _cgcloud("plan", str(POLICIES), "--cloud", "c", "--now", NOW, *opts, clouds=clouds)
    assert r.returncode == 1, r.stderr
    assert took < 2 * 2 + 15, took  # two time-outs + interpreter start on a loaded box
    assert "identity" in r.stderr and f"127.0.0.1:{hole.port}" in r.stderr
    assert "没有应答" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert hole.accepted >= 1


def test_default_timeouts_are_set_on_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No option, no api_timeout: connect 5 s and read 60 s go to requests as a pair."""
    from cgcloud.engines import connection

    monkeypatch.setenv(
        "OS_CLIENT_CONFIG_FILE",
        str(_clouds_yaml(tmp_path / "clouds.yaml", "http://127.0.0.1:9/v3")),
    )
    conn = connection.connect("c")
    assert conn.session.timeout == (5.0, 60.0)
    assert connection.connect("c", 0.5).session.timeout == (0.5, 0.5)


def test_the_exporter_survives_a_black_hole_and_says_so(
    tmp_path: Path, hole: BlackHole, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh against a hung cloud ends within the bound; `cgcloud_cloud_up` is 0 and
    the next try is a back-off shorter than --refresh (docs/metrics.md)."""
    from cgcloud import exporter as ex

    monkeypatch.setenv(
        "OS_CLIENT_CONFIG_FILE",
        str(_clouds_yaml(tmp_path / "clouds.yaml", f"http://127.0.0.1:{hole.port}/v3")),
    )
    logs: list[str] = []
    e = ex.Exporter([POLICIES], "c", refresh=60, timeout=1, log=logs.append, now=ex.make_clock(NOW))
    t0 = time.monotonic()
    assert e.refresh() is False
    assert time.monotonic() - t0 < 2 * 1 + 10
    text = e.payload(False).decode()
    assert 'cgcloud_cloud_up{cloud="c"} 0.0' in text
    assert 'cgcloud_exporter_consecutive_refresh_failures{cloud="c"} 1.0' in text
    assert 4.0 <= e.next_delay <= 5.0
    assert len(logs) == 1 and "identity" in logs[0] and "Traceback" not in logs[0]


def test_a_malformed_clouds_yaml_is_reported_with_its_position(tmp_path: Path) -> None:
    """openstacksdk would skip it and say "Cloud c was not found"."""
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  c:\n    auth: {auth_url: http://127.0.0.1:9/v3\n    region_name: RegionOne\n",
        encoding="utf-8",
    )
    r, _ = _cgcloud("plan", str(POLICIES), "--cloud", "c", "--now", NOW, clouds=clouds)
    assert r.returncode == 1
    assert f"{clouds}:4:" in r.stderr and "格式错误" in r.stderr, r.stderr
    assert "not found" not in r.stderr and "Traceback" not in r.stderr


def test_an_unreadable_clouds_yaml_is_reported(tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_bytes(b"clouds:\n  c: {auth: {password: \xff\xfe}}\n")
    r, _ = _cgcloud("plan", str(POLICIES), "--cloud", "c", "--now", NOW, clouds=clouds)
    assert r.returncode == 1 and str(clouds) in r.stderr, r.stderr
    assert "not found" not in r.stderr and "Traceback" not in r.stderr


def test_a_cloud_error_echoing_the_password_and_a_token_is_redacted(tmp_path: Path) -> None:
    """The impostor's 401 body carries the request (with the password) and a token header:
    the user sees the error, never the credential."""
    ks = EchoKeystone()
    try:
        clouds = _clouds_yaml(tmp_path / "clouds.yaml", f"http://127.0.0.1:{ks.port}/v3")
        r, _ = _cgcloud(
            "plan", str(POLICIES), "--cloud", "c", "--now", NOW, "--timeout", "5", clouds=clouds
        )
    finally:
        ks.close()
    out = r.stdout + r.stderr
    assert r.returncode == 1
    assert "401" in out or "Unauthorized" in out, out
    assert PASSWORD not in out and "gAAAAABmSomeFernet" not in out, out
    assert "***" in out and "Traceback" not in out


def test_redact_masks_literal_escaped_and_keyed_secrets() -> None:
    from cgcloud.engines import connection

    connection._LITERALS.add('p@ss w"rd')
    try:
        text = connection.redact(
            'body {"password": "p@ss w\\"rd"} url ?password=p%40ss%20w%22rd '
            "X-Auth-Token: abcdef123 'application_credential_secret': 'zz' plain p@ss w\"rd"
        )
    finally:
        connection._LITERALS.discard('p@ss w"rd')
    assert "p@ss" not in text and "p%40ss" not in text and "abcdef123" not in text
    assert "zz" not in text and text.count("***") >= 5
