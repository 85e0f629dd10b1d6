"""Session fixtures for the report tests: a real Prometheus on 127.0.0.1 holding a month of
known history (backfilled with promtool), cgcloud's audit log and reclaim records, and
Debian's headless Chromium.

The backfilled TSDB is cached under ~/.cache/cgcloud/report-tsdb/<hash of the history>:
promtool writes one block per two hours (372 for a month), which takes 20–80 s on a
loaded 2-core box; the cache copies it in a second on later runs. The history text is
regenerated every time, so a changed history gets a new cache entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "prometheus"))
sys.path.insert(0, str(HERE))
import history  # noqa: E402
from promtools import APT_LOCK_WAIT, ensure_prometheus  # noqa: E402

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cgcloud" / "report-tsdb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tsdb(promtool: str, work: Path) -> Path:
    om = history.write(work / "history.om")
    digest = hashlib.sha256(om.read_bytes()).hexdigest()[:16]
    cached = CACHE / digest
    if not cached.is_dir():
        tmp = CACHE / f"{digest}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", str(om), str(tmp)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        try:
            tmp.rename(cached)
        except OSError:  # another session won the race: its copy is the same history
            shutil.rmtree(tmp, ignore_errors=True)
    dest = work / "tsdb"
    shutil.copytree(cached, dest)
    return dest


@contextmanager
def _prometheus(work: Path, *extra: str) -> Iterator[str]:
    """A real Prometheus on 127.0.0.1 over the backfilled month, cgcloud's rules loaded."""
    try:
        promtool, server = ensure_prometheus()
    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"Debian's prometheus is not available: {exc}")
    tsdb = _tsdb(promtool, work)
    cfg = work / "prometheus.yml"
    # Rules are evaluated only once a day: the report reads the backfilled ALERTS, and
    # the rules API gives each rule's incident_level annotation.
    cfg.write_text(
        "global: {evaluation_interval: 1d}\n"
        f"rule_files: [{json.dumps(str(REPO / 'alerts' / 'cgcloud.rules.yml'))}]\n",
        encoding="utf-8",
    )
    port = _free_port()
    log = (work / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            server,
            f"--config.file={cfg}",
            f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (work / "prometheus.log").read_text()
            try:
                ready = requests.get(url + "/-/ready", timeout=5).status_code == 200
                rules = requests.get(url + "/api/v1/rules", timeout=5).json()
                if ready and rules["data"]["groups"]:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "prometheus not ready within 120 s"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus serving the month of history."""
    with _prometheus(tmp_path_factory.mktemp("report-prometheus")) as url:
        yield url


@pytest.fixture(scope="session")
def small_prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same history behind a server that refuses queries loading over 5,000 samples
    (one usage query over the month loads 3 × 2,785), so the report must split them."""
    with _prometheus(tmp_path_factory.mktemp("report-small"), "--query.max-samples=5000") as url:
        yield url


@pytest.fixture(scope="session")
def state_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An audit log (in and out of the period, one broken line) and reclaim records."""
    d = tmp_path_factory.mktemp("report-state")
    audit = d / "audit.jsonl"

    def entry(t: str, action: str, kind: str, system: str, result: str = "done") -> str:
        e = {
            "time": t,
            "actor": "root@ci (admin)",
            "cloud": "devcloud",
            "action": action,
            "resource": {"kind": kind, "name": "n", "id": "i", "system": system},
            "forms": ["WL-2026-0031"],
            "reasons": ["cgcloud WL-2026-0031#7 until 2027-01-04"],
            "result": result,
        }
        if result == "failed":
            e["error"] = "HttpException: 409 Conflict"
        return json.dumps(e, ensure_ascii=False)

    lines = [
        entry("2026-12-31T15:59:59+00:00", "create", "rule", history.A),  # 12-31 23:59:59 local
        entry("2026-12-31T16:00:00+00:00", "create", "rule", history.A),  # 01-01 00:00 local
        entry("2027-01-03T02:00:00+00:00", "create", "rule", history.A),
        entry("2027-01-04T16:00:05+00:00", "delete", "rule", history.A),
        entry("2027-01-20T01:00:00+00:00", "update", "project", history.C, "failed"),
        "{not json",
        entry("2027-01-31T16:00:00+00:00", "delete", "rule", history.A),  # 02-01 00:00 local
    ]
    audit.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rec = d / "records"
    rec.mkdir()
    host = {
        "host": "172.20.4.21",
        "ips": ["172.20.4.21"],
        "server": "host-172.20.4.21",
        "server_id": "s1",
        "flavor": "cg-4c8g100d",
        "vcpus": 4,
        "memory_mb": 8192,
        "system_disk_gb": 100,
        "volumes": [{"id": "v1", "name": "data", "size_gb": 10}],
        "storage_gb": 110,
        "powered_off_at": "2027-01-13T10:00:00+08:00",
        "deleted_at": "2027-01-21T00:00:00+08:00",
    }
    old = {
        **host,
        "server_id": "s0",
        "host": "172.20.4.20",
        "deleted_at": "2026-12-20T00:00:00+08:00",
    }
    (rec / "回收记录-devcloud-GT-2027-0001.json").write_text(
        json.dumps(
            {
                "format": "cgcloud-reclaim/v1",
                "notice": "GT-2027-0001",
                "system": history.B,
                "cloud": "devcloud",
                "updated_at": "2027-01-21T00:00:00+08:00",
                "hosts": [old, host],
                "totals": {},
                "system_reclaimed": None,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    (rec / "回收记录-devcloud-broken.json").write_text("{", encoding="utf-8")
    return {"audit": audit, "records": rec}


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (and a CJK font), installed when missing; skipped when impossible."""
    path = shutil.which("chromium")
    if path and Path("/usr/share/fonts/truetype/wqy").is_dir():
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        if path:
            return path
        pytest.skip("chromium is missing and cannot be installed here (not root or no apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(
            ["apt-get", *APT_LOCK_WAIT, "update", "-qq"],
            check=True,
            env=env,
            capture_output=True,
            timeout=600,
        )
        subprocess.run(
            [
                "apt-get",
                *APT_LOCK_WAIT,
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "chromium",
                "fonts-wqy-microhei",
            ],
            check=True,
            env=env,
            capture_output=True,
            timeout=900,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"apt-get could not install chromium: {exc}")
    path = shutil.which("chromium")
    if not path:
        pytest.skip("apt-get installed chromium but it is not on PATH")
    return path
