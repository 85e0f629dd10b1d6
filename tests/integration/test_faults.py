"""Retries, hard failures and convergence of `cgcloud apply`, against the real devcloud
with a fault-injecting proxy (tests/integration/faultproxy.py) in front of Neutron.

The CLI talks to cloud `devcloud-faulty`: the devcloud's own clouds.yaml entry plus
``network_endpoint_override`` = the proxy, so Keystone, Nova and Cinder are reached
directly and every Neutron call crosses the proxy. Checks and re-runs use the plain
`devcloud` cloud. Each test works on its own renamed copy of the example repository
(see test_apply.World) and cleans up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faultproxy import Fault, FaultProxy, faulty_clouds_yaml
from test_apply import NOW, World

from cgcloud.engines.openstack import fingerprints

pytestmark = pytest.mark.devcloud

NEUTRON = ("127.0.0.1", 19696)
FAULTY = "devcloud-faulty"


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    px = FaultProxy(NEUTRON)
    yield px
    px.close()


@pytest.fixture
def faulty(tmp_path: Path, devcloud: Any, proxy: FaultProxy) -> Iterator[World]:
    clouds = faulty_clouds_yaml(devcloud.clouds_yaml, tmp_path / "clouds.yaml", proxy.url)
    mp = pytest.MonkeyPatch()
    mp.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    mp.delenv("OS_CLOUD", raising=False)
    w = World(tmp_path, {"OS_CLIENT_CONFIG_FILE": str(clouds)}, cloud=FAULTY)
    try:
        yield w
    finally:
        w.cleanup()
        mp.undo()


def _audit(world: World) -> list[dict[str, Any]]:
    return [json.loads(x) for x in world.audit.read_text(encoding="utf-8").splitlines()]


def _fingerprints(world: World) -> list[str]:
    return fingerprints.recorded(world.project()["tags"])  # type: ignore[index]


def _converged(world: World) -> None:
    r = world.cli("--cloud", "devcloud", "plan", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    want = world.desired()
    groups = world.managed_groups()
    assert sorted(g["name"] for g in groups) == sorted(g.name for g in want.groups)  # no dups
    descs = sorted(x["description"] for g in groups for x in world.rules_of(g["id"]))
    assert descs == sorted(r.description for r in want.rules if not r.remote_placeholder)
    # rules belong to the system's project (its rule quota), not to the caller's
    pid = world.project()["id"]  # type: ignore[index]
    assert {x["project_id"] for g in groups for x in world.rules_of(g["id"])} == {pid}


def test_transient_errors_are_retried_with_backoff(faulty: World, proxy: FaultProxy) -> None:
    """503s and connection resets (before Neutron sees the request) on reads, quota
    writes, the bulk group create and the bulk rule create, and a 500 on a read: apply
    retries, succeeds, and the cloud equals the forms."""
    faults = [
        proxy.add(Fault("status", method="GET", path="/security-groups", times=2)),
        proxy.add(Fault("reset", method="GET", path="/ports", times=1)),
        proxy.add(Fault("status", method="GET", path="/ports", status=500, times=1)),
        proxy.add(Fault("status", method="PUT", path="/quotas/", status=502, times=1)),
        proxy.add(Fault("reset", method="POST", path=r"/security-groups$", times=2)),
        proxy.add(Fault("status", method="POST", path=r"/security-group-rules$", times=3)),
    ]
    r = faulty.apply()
    assert r.exit_code == 0, r.output
    assert "失败 0 项，未执行 0 项" in r.output
    for f in faults:
        assert f.fired == f.times, f  # every fault really happened …
    assert proxy.count("injected 503") == 5 and proxy.count("reset") == 3
    assert proxy.count("injected 500") == 1  # a read is repeated after a 500; a write is not
    rule_posts = [x.outcome for x in proxy.log if x.method == "POST" and "rules" in x.path]
    assert rule_posts.count("injected 503") == 3 and "400" not in rule_posts, rule_posts
    assert len(rule_posts) == 3 + len(
        {r.group for r in faulty.desired().rules if not r.remote_placeholder}
    )  # a bulk per group
    assert proxy.count("201", "POST", r"/security-groups$") == 1
    assert all(x["result"] == "done" for x in _audit(faulty))
    _converged(faulty)


def test_hard_failure_mid_apply_reports_and_rerun_converges(
    faulty: World, proxy: FaultProxy
) -> None:
    """Neutron goes away right after the groups were created (the proxy resets the
    first rule create and stops listening): retries give up, apply stops, says what
    was done, what FAILED and what was NOT DONE, exit 1. The report matches the
    cloud. A re-run adopts the groups made (no second group: the tagging gap is
    closed) and converges."""
    proxy.add(Fault("refuse", method="POST", path=r"/security-group-rules$"))
    r = faulty.apply()
    assert r.exit_code == 1, r.output
    out = r.output
    want = faulty.desired()
    n_rules = sum(1 for x in want.rules if not x.remote_placeholder)
    # the projects, quotas, flavors (not Neutron) and groups were done; rules were not
    failed_lines = out.count("失败   create rule")
    assert failed_lines >= 1  # the bulks in flight when Neutron went away (≤ concurrency)
    assert failed_lines + out.count("未执行 create rule") == n_rules
    assert "未执行" in out and "执行中断" in out
    m = re.search(r"已应用: 完成 (\d+) 项，失败 (\d+) 项，未执行 (\d+) 项", out)
    assert m and (int(m[2]), int(m[3])) == (failed_lines, n_rules - failed_lines)
    audit = _audit(faulty)
    done = {(x["action"], x["resource"]["kind"]) for x in audit if x["result"] == "done"}
    assert ("create", "project") in done and ("create", "group") in done
    assert int(m[1]) == sum(1 for x in audit if x["result"] == "done")
    failed = [x for x in audit if x["result"] == "failed"]
    assert len(failed) == failed_lines and {x["resource"]["kind"] for x in failed} == {"rule"}
    assert all("ConnectFailure" in x["error"] for x in failed)
    assert proxy.count("refused") >= 1
    # the report matches the cloud: the groups it says were made exist, with no rules
    groups = faulty.managed_groups()
    made = {
        x["resource"]["id"]
        for x in audit
        if x["resource"]["kind"] == "group" and x["result"] == "done"
    }
    assert {g["id"] for g in groups} == made
    assert all(not faulty.rules_of(g["id"]) for g in groups)
    assert all(not g.get("tags") for g in groups)  # identity = description marker only
    assert _fingerprints(faulty) == []  # not the forms' rules yet: enforce must read it
    # re-run (Neutron back): no group is created again, the rules are
    r = faulty.cli("--cloud", "devcloud", "apply", "--yes", "--audit-log", str(faulty.audit))
    assert r.exit_code == 0, r.output
    assert {g["id"] for g in faulty.managed_groups()} == made
    _converged(faulty)
    assert len(_fingerprints(faulty)) == 1  # now it holds them: recorded


def test_lost_answer_to_a_group_create_is_recovered(faulty: World, proxy: FaultProxy) -> None:
    """The bulk group create reaches Neutron but its answer is lost (reset after
    forwarding). Retrying blindly would create the groups twice (over quota: the
    project's group quota is exactly what the forms need). The engine looks first,
    finds the groups the lost request made, and goes on: no duplicate, converged."""
    proxy.add(Fault("drop-response", method="POST", path=r"/security-groups$", times=1))
    r = faulty.apply()
    assert r.exit_code == 0, r.output
    assert proxy.count("dropped 201") == 1
    assert proxy.count(None, "POST", r"/security-groups$") == 1  # never sent again
    _converged(faulty)


def test_an_interrupted_apply_says_what_was_and_was_not_done(
    faulty: World, proxy: FaultProxy, tmp_path: Path
) -> None:
    """Ctrl-C while the bulk group create is in flight (Neutron slowed to 4 s by the
    proxy): the request in flight finishes, nothing new starts, the user is told what
    was DONE and NOT DONE, exit 130, the lock is released, and a re-run converges."""
    import os
    import signal
    import subprocess
    import sys
    import time

    slow = proxy.add(
        Fault("delay", method="POST", path=r"/security-groups$", seconds=4, times=None)
    )
    env = {**os.environ, **faulty.env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("OS_CLOUD", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cgcloud",
            "apply",
            str(faulty.repo),
            "--cloud",
            FAULTY,
            "--now",
            NOW,
            "--yes",
            "--audit-log",
            str(faulty.audit),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    while slow.seen == 0:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    assert "收到 SIGINT" in err and "已中断（SIGINT）" in err
    want = faulty.desired()
    n_rules = sum(1 for x in want.rules if not x.remote_placeholder)
    assert err.count("未执行 create rule") == n_rules  # the rules never started
    assert "已完成 create project" in err and "已完成 create group" in err
    m = re.search(r"已应用: 完成 (\d+) 项，失败 (\d+) 项，未执行 (\d+) 项", out)
    assert m and int(m[2]) == 0 and int(m[3]) >= n_rules
    audit = _audit(faulty)
    assert int(m[1]) == sum(1 for x in audit if x["result"] == "done")
    assert {x["resource"]["kind"] for x in audit} >= {"project", "group"}
    made = {
        x["resource"]["id"]
        for x in audit
        if x["resource"]["kind"] == "group" and x["result"] == "done"
    }
    assert {g["id"] for g in faulty.managed_groups()} == made  # the report is the cloud
    held = faulty.engine.lock_holder()  # released on the way out (another test's may be held)
    assert held is None or f"pid {proc.pid}" not in held.owner, held
    r = faulty.cli("--cloud", "devcloud", "apply", "--yes", "--audit-log", str(faulty.audit))
    assert r.exit_code == 0, r.output
    _converged(faulty)


def test_a_cloud_error_echoing_the_request_leaks_no_token(faulty: World, proxy: FaultProxy) -> None:
    """Neutron (the proxy) refuses the rule creates with a 400 whose message repeats the
    request, X-Auth-Token header included: the user sees the error, and neither the CLI
    output nor the audit log holds the token or the password."""
    import yaml

    proxy.add(
        Fault(
            "status",
            method="POST",
            path=r"/security-group-rules$",
            status=400,
            echo=True,
            times=None,
            message="bad rule",
        )
    )
    r = faulty.apply()
    assert r.exit_code == 1, r.output
    assert proxy.tokens, "the proxy saw no token: the test proves nothing"
    clouds = yaml.safe_load(Path(faulty.env["OS_CLIENT_CONFIG_FILE"]).read_text())
    password = clouds["clouds"][FAULTY]["auth"]["password"]
    audit = faulty.audit.read_text(encoding="utf-8")
    assert "bad rule" in r.output and "X-Auth-Token: ***" in r.output, r.output
    assert "bad rule" in audit
    for secret in (*proxy.tokens, password):
        assert secret not in r.output and secret not in audit
