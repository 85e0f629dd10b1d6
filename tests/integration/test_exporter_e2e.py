"""End to end, no fakes: a real Prometheus scrapes a real `cgcloud exporter` watching the devcloud.

Apply the example repository inside the high-risk window, step the exporter's clock
past the window without enforcing (``--now-file``), and watch the overdue-rule
alert fire through Prometheus' HTTP API; then run `cgcloud enforce` at that time
and watch it resolve. The system is renamed with a unique suffix so other tests'
projects are not confused with ours, and everything we made is deleted at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from waits import SERVICE_READY, wait_until

from cgcloud.cli import app
from cgcloud.engines.openstack import OpenStackEngine

pytestmark = pytest.mark.devcloud

REPO = Path(__file__).resolve().parents[2]
SYSTEM = "智慧城管综合平台"
INSIDE = "2027-01-15T10:00"  # high-risk rows are open 2027-01-01 … 2027-01-31
PAST = "2027-02-02T10:00"
ALERT = "CgcloudHighRiskRuleOpenPastWindow"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: Callable[[], Any], timeout: float = SERVICE_READY) -> Any:
    """A bounded poll sized for a loaded 2-core machine (tests/integration/waits.py)."""
    return wait_until(what, check, timeout)


class Prom:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.get("/api/v1/query", query=expr)["data"]["result"]

    def alerts(self, name: str, system: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.get("/api/v1/alerts")["data"]["alerts"]
            if a["labels"].get("alertname") == name and a["labels"].get("system") == system
        ]

    def evaluated_after(self, t: float) -> bool:
        """Every rule group has started an evaluation after unix time `t`."""
        groups = self.get("/api/v1/rules")["data"]["groups"]
        return bool(groups) and all(_unix(g["lastEvaluation"]) > t for g in groups)


def _unix(rfc3339: str) -> float:
    """Prometheus' RFC 3339 timestamps carry nanoseconds; Python parses microseconds."""
    m = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", rfc3339)
    assert m, rfc3339
    zone = "+00:00" if m[3] == "Z" else m[3]
    return datetime.fromisoformat(m[1] + zone).timestamp() + float(m[2] or 0)


@pytest.fixture
def stack(
    devcloud: Any, tmp_path: Path, prometheus_bins: tuple[str, str]
) -> Iterator[dict[str, Any]]:
    _, prometheus = prometheus_bins  # tests/conftest.py: installed, or skipped with the reason
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": devcloud.clouds_yaml}
    env.pop("OS_CLOUD", None)
    system = f"{SYSTEM}-e2e{uuid.uuid4().hex[:6]}"
    repo = tmp_path / "policies"
    shutil.copytree(REPO / "policies", repo)
    shutil.rmtree(repo / "旧版数字城管系统")  # its decommission is another test's business
    for f in (repo / SYSTEM).glob("*.yaml"):
        f.write_text(f.read_text(encoding="utf-8").replace(SYSTEM, system), encoding="utf-8")
    now_file = tmp_path / "now"
    now_file.write_text(INSIDE)
    exp_port, prom_port = _free_port(), _free_port()
    exporter_log = (tmp_path / "exporter.log").open("w")
    exporter = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cgcloud",
            "exporter",
            str(repo),
            "--cloud",
            "devcloud",
            "--listen",
            f"127.0.0.1:{exp_port}",
            "--refresh",
            "1",
            "--now-file",
            str(now_file),
        ],
        env=env,
        stdout=exporter_log,
        stderr=subprocess.STDOUT,
    )
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        json.dumps(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(REPO / "alerts" / "cgcloud.rules.yml")],
                "scrape_configs": [
                    {
                        "job_name": "cgcloud",
                        "static_configs": [{"targets": [f"127.0.0.1:{exp_port}"]}],
                    }
                ],
            }
        )
    )
    prom_log = (tmp_path / "prometheus.log").open("w")
    server = subprocess.Popen(
        [
            prometheus,
            f"--config.file={cfg}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=prom_log,
        stderr=subprocess.STDOUT,
    )
    engine = OpenStackEngine("devcloud")
    try:
        yield {
            "repo": repo,
            "system": system,
            "now_file": now_file,
            "env": env,
            "prom": Prom(prom_port),
            "engine": engine,
            "tmp": tmp_path,
        }
    finally:
        for proc in (server, exporter):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        exporter_log.close()
        prom_log.close()
        _cleanup(engine, system)


def _cleanup(engine: OpenStackEngine, system: str) -> None:
    for proj in engine.call("identity", "GET", "/projects", params={"name": system})["projects"]:
        groups = engine.call(
            "network", "GET", "/security-groups", params={"project_id": proj["id"]}
        )["security_groups"]
        for g in groups:
            engine.call("network", "DELETE", f"/security-groups/{g['id']}", ok=(404, 409))
        engine.call("identity", "DELETE", f"/projects/{proj['id']}", ok=(404,))


def _cli(stack: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(
        app, [args[0], str(stack["repo"]), "--cloud", "devcloud", *args[1:]], env=stack["env"]
    )


def test_overdue_high_risk_rule_alert_fires_and_enforce_resolves_it(stack: dict[str, Any]) -> None:
    prom, system = stack["prom"], stack["system"]
    r = _cli(
        stack,
        "apply",
        "--now",
        INSIDE,
        "--yes",
        "--max-deletes",
        "1000",
        "--audit-log",
        str(stack["tmp"] / "audit.jsonl"),
        "--textfile",
        str(stack["tmp"] / "cgcloud-apply.prom"),
    )
    assert r.exit_code == 0, r.output

    sel = f'system="{system}",high_risk="true"'

    # a refresh may have read the cloud while apply was still creating rules: wait for
    # the scrape that saw all four rows (bounded), not for the first non-empty one
    def all_rows() -> Any:
        got = prom.query(f"cgcloud_rule_window_end_timestamp_seconds{{{sel}}}")
        return got if {x["metric"]["row"] for x in got} == {"7", "8", "9", "10"} else None

    rows = _wait("a scrape of all our high-risk rules", all_rows)
    assert {x["metric"]["tenant"] for x in rows} == {system}
    assert all(x["metric"]["tenant_id"] for x in rows)
    assert prom.query(f"cgcloud_rules_open_past_window{{{sel}}}")[0]["value"][1] == "0"
    # a couple of rule evaluations inside the window (a bounded poll, not a fixed
    # sleep: on a loaded machine two seconds may hold none): nothing fires
    since = time.time() + 1.0
    _wait("two rule evaluations inside the window", lambda: prom.evaluated_after(since))
    assert prom.alerts(ALERT, system) == []

    # time passes the window's end; nobody enforces
    stack["now_file"].write_text(PAST)
    firing = _wait(
        "the overdue-rule alert to fire",
        lambda: [a for a in prom.alerts(ALERT, system) if a["state"] == "firing"],
    )
    assert {a["labels"]["row"] for a in firing} == {"7", "8", "9", "10"}
    assert all(
        a["labels"]["severity"] == "critical" and a["labels"]["form"] == "WL-2026-0031"
        for a in firing
    )
    assert prom.query(f"cgcloud_rules_open_past_window{{{sel}}}")[0]["value"][1] != "0"

    # enforce closes the rules whose window ended; the alert resolves
    r = _cli(
        stack,
        "enforce",
        "--now",
        PAST,
        "--max-deletes",
        "1000",
        "--audit-log",
        str(stack["tmp"] / "audit.jsonl"),
        "--records",
        str(stack["tmp"] / "records"),
    )
    assert r.exit_code == 0, r.output
    assert "关闭 WL-2026-0031 第7行" in r.output
    _wait("the alert to resolve", lambda: prom.alerts(ALERT, system) == [])
    _wait(
        "no overdue rule left",
        lambda: prom.query(f"cgcloud_rules_open_past_window{{{sel}}}")[0]["value"][1] == "0",
    )
    assert prom.query(f"cgcloud_rule_window_end_timestamp_seconds{{{sel}}}") == []
    up = prom.query('up{job="cgcloud"}')
    assert up and up[0]["value"][1] == "1"
