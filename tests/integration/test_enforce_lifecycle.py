"""`cgcloud enforce` against the real devcloud: whole lifecycles replayed day by day.

Real Nova servers (fake virt driver) with fixed IPs on the zone networks, real
Cinder volumes, real Neutron rules. Each test works on its own copy of the
example repository with system names made unique, and deletes what it made.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from waits import CLOUD_ASYNC, wait_until

from cgcloud import desired, enforce
from cgcloud.cli import app
from cgcloud.engines.openstack import OpenStackEngine, fingerprints

pytestmark = pytest.mark.devcloud

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NEW, OLD = "智慧城管综合平台", "旧版数字城管系统"


class Site:
    """A repository copy with unique system names, a CLI runner, and cloud helpers."""

    def __init__(self, tmp: Path, clouds_yaml: str):
        tag = uuid.uuid4().hex[:6]
        self.new, self.old = f"{NEW}-{tag}", f"{OLD}-{tag}"
        self.repo = tmp / "policies"
        shutil.copytree(POLICIES, self.repo)
        for f in self.repo.rglob("*.yaml"):
            text = f.read_text(encoding="utf-8")
            f.write_text(text.replace(NEW, self.new).replace(OLD, self.old), encoding="utf-8")
        self.records = tmp / "records"
        self.audit = tmp / "audit.jsonl"
        self.env = {"OS_CLIENT_CONFIG_FILE": clouds_yaml}
        self.engine = OpenStackEngine("devcloud")
        self.servers: list[str] = []
        self.volumes: list[str] = []
        self._scoped: dict[str, Any] = {}

    def edit(self, rel: str, old: str, new: str) -> None:
        f = self.repo / rel
        text = f.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        f.write_text(text.replace(old, new), encoding="utf-8")

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(
            app, [args[0], str(self.repo), "--cloud", "devcloud", *args[1:]], env=self.env
        )

    def apply(self, now: str) -> None:
        r = self.cli("apply", "--yes", "--now", now, "--audit-log", str(self.audit))
        assert r.exit_code == 0, r.output

    def enforce(self, now: str, *extra: str) -> Any:
        r = self.cli(
            "enforce",
            "--now",
            now,
            "--records",
            str(self.records),
            "--audit-log",
            str(self.audit),
            *extra,
        )
        return r

    def project(self, system: str) -> dict[str, Any]:
        body = self.engine.call("identity", "GET", "/projects", params={"name": system})
        return body["projects"][0]

    def scoped(self, project_id: str) -> Any:
        """An admin connection scoped to the system's project (servers are created there)."""
        if project_id not in self._scoped:
            import openstack

            conn = self.engine.conn
            roles = self.engine.call("identity", "GET", "/roles", params={"name": "admin"})
            self.engine.call(
                "identity",
                "PUT",
                f"/projects/{project_id}/users/"
                f"{conn.current_user_id}/roles/{roles['roles'][0]['id']}",
            )
            auth = {
                k: v
                for k, v in conn.config.config["auth"].items()
                if k not in ("project_name", "project_domain_name", "project_domain_id")
            }
            self._scoped[project_id] = openstack.connect(
                auth={**auth, "project_id": project_id},
                auth_type="password",
                region_name=conn.config.get_region_name(),
            )
        return self._scoped[project_id]

    def server(self, system: str, ip: str, flavor: str) -> str:
        pid = self.project(system)["id"]
        net = self.engine.call("network", "GET", "/networks", params={"name": "zone-internet"})[
            "networks"
        ][0]
        image = self.engine.call("compute", "GET", "/images", params={"name": "cgcloud-tiny"})
        fl = next(
            f
            for f in self.engine.call("compute", "GET", "/flavors")["flavors"]
            if f["name"] == flavor
        )
        body = (
            self.scoped(pid)
            .compute.post(
                "/servers",
                json={
                    "server": {
                        "name": f"host-{ip}",
                        "imageRef": image["images"][0]["id"],
                        "flavorRef": fl["id"],
                        "networks": [{"uuid": net["id"], "fixed_ip": ip}],
                    }
                },
            )
            .json()
        )
        assert "server" in body, body
        self.servers.append(body["server"]["id"])
        return str(body["server"]["id"])

    def volume(self, system: str, size: int, server_id: str) -> str:
        pid = self.project(system)["id"]
        v = (
            self.scoped(pid)
            .block_storage.post(
                "/volumes", json={"volume": {"size": size, "name": f"data-{server_id[:8]}"}}
            )
            .json()["volume"]
        )
        self.volumes.append(v["id"])
        self.wait(lambda: self.get_volume(v["id"])["status"] == "available")
        self.engine.call(
            "compute",
            "POST",
            f"/servers/{server_id}/os-volume_attachments",
            json={"volumeAttachment": {"volumeId": v["id"]}},
        )
        self.wait(lambda: self.get_volume(v["id"])["status"] == "in-use")
        return str(v["id"])

    def get_server(self, sid: str) -> dict[str, Any] | None:
        body = self.engine.call("compute", "GET", f"/servers/{sid}", ok=(404,))
        return (body or {}).get("server")

    def get_volume(self, vid: str) -> dict[str, Any]:
        body = self.engine.call("volume", "GET", f"/volumes/{vid}", ok=(404,))
        return (body or {}).get("volume") or {"status": "gone"}

    def wait(self, probe: Any, seconds: float = CLOUD_ASYNC, what: str = "the cloud") -> None:
        """A bounded poll sized for a loaded 2-core machine (tests/integration/waits.py)."""
        wait_until(what, probe, seconds)

    def groups(self, system: str) -> list[dict[str, Any]]:
        pid = self.project(system)["id"]
        return self.engine.call("network", "GET", "/security-groups", params={"project_id": pid})[
            "security_groups"
        ]

    def rule_descriptions(self, system: str) -> list[str]:
        out = []
        for g in self.groups(system):
            if g["name"] != "default":
                rules = self.engine.call(
                    "network", "GET", "/security-group-rules", params={"security_group_id": g["id"]}
                )
                out += [r["description"] for r in rules["security_group_rules"]]
        return out

    def cleanup(self) -> None:
        for sid in self.servers:
            self.engine.call("compute", "DELETE", f"/servers/{sid}", ok=(404,))
        for sid in self.servers:
            self.wait(lambda sid=sid: self.get_server(sid) is None, what=f"server {sid} gone")
        for vid in self.volumes:
            self.wait(lambda vid=vid: self.get_volume(vid)["status"] in ("available", "gone"))
            self.engine.call("volume", "DELETE", f"/volumes/{vid}", ok=(404,))
        for system in (self.new, self.old):
            body = self.engine.call("identity", "GET", "/projects", params={"name": system})
            for proj in body["projects"]:
                ports = self.engine.call(
                    "network", "GET", "/ports", params={"project_id": proj["id"]}
                )["ports"]
                for x in ports:
                    self.engine.call("network", "DELETE", f"/ports/{x['id']}", ok=(404,))
                groups = self.engine.call(
                    "network", "GET", "/security-groups", params={"project_id": proj["id"]}
                )["security_groups"]
                for g in groups:
                    self.engine.call(
                        "network", "DELETE", f"/security-groups/{g['id']}", ok=(404, 409)
                    )
                self.engine.call("identity", "DELETE", f"/projects/{proj['id']}", ok=(404,))


@pytest.fixture
def site(tmp_path: Path, devcloud: Any) -> Iterator[Site]:
    s = Site(tmp_path, devcloud.clouds_yaml)
    yield s
    s.cleanup()


def test_high_risk_rule_opens_on_its_first_day_and_is_gone_the_day_after_its_last(
    site: Site,
) -> None:
    # a ten-day high-risk window inside January (the example's is the whole month)
    site.edit(
        f"{NEW}/network-policy.yaml",
        "period: {start: 2027-01-01, end: 2027-01-31}",
        "period: {start: 2027-01-10, end: 2027-01-20}",
    )
    site.apply("2027-01-05T10:00")
    high = " until 2027-01-20"
    assert not [d for d in site.rule_descriptions(site.new) if d.endswith(high)]
    seen: dict[str, bool] = {}
    steps = [
        "2027-01-09T10:00",
        "2027-01-09T23:59:59",
        "2027-01-10T00:00:00",
        "2027-01-15T10:00",
        "2027-01-20T23:59:59",
        "2027-01-21T00:00:00",
        "2027-01-22T10:00",
    ]
    prom = site.records.parent / "cgcloud-enforce.prom"
    for now in steps:
        r = site.enforce(now, "--textfile", str(prom))
        assert r.exit_code == 0, r.output
        seen[now] = any(d.endswith(high) for d in site.rule_descriptions(site.new))
        if now == "2027-01-10T00:00:00":
            assert (
                "开放 WL-2026-0031 第7行 TCP22 (高危端口使用期 2027-01-10 至 2027-01-20)"
                in r.stdout
            )
        if now == "2027-01-21T00:00:00":
            assert (
                "关闭 WL-2026-0031 第10行 TCP3306 (高危端口使用期已于 2027-01-20 结束)" in r.stdout
            )
            run = _textfile_values(prom)  # what node-exporter's textfile collector would read
            assert run["cgcloud_last_run_success"] == 1.0
            assert run["cgcloud_last_run_api_requests"] > 0
            closed = r.stdout.count("关闭 ")
            assert closed >= 1 and run['cgcloud_last_run_changes{result="done"}'] == closed
        if now in ("2027-01-15T10:00", "2027-01-22T10:00"):
            assert "没有到期的动作" in r.stdout, r.stdout  # a second pass is a no-op
    assert seen == {
        "2027-01-09T10:00": False,
        "2027-01-09T23:59:59": False,
        "2027-01-10T00:00:00": True,
        "2027-01-15T10:00": True,
        "2027-01-20T23:59:59": True,
        "2027-01-21T00:00:00": False,
        "2027-01-22T10:00": False,
    }
    # the normal rows were never touched, and apply agrees with what enforce left
    assert any(d.endswith(" until 2027-12-31") for d in site.rule_descriptions(site.new))
    r = site.cli("plan", "--now", "2027-01-22T10:00", "--detailed-exitcode")
    assert r.exit_code == 0, r.output


def test_a_settled_project_is_read_again_only_when_its_rules_change(site: Site) -> None:
    """apply records the rule fingerprint on the project; a pass that finds it equal to
    the one wanted now skips the project's Neutron resources; a removed tag or a window
    that ends makes the next pass read it again (and record the new fingerprint)."""
    site.apply("2027-01-15T10:00")

    def recorded() -> list[str]:
        return fingerprints.recorded(site.project(site.new)["tags"])

    def json_pass(now: str) -> dict[str, Any]:
        r = site.enforce(now, "--format", "json")
        assert r.exit_code == 0, r.output
        return dict(json.loads(r.stdout))

    [fp] = recorded()
    quiet = json_pass("2027-01-20T10:00")
    assert quiet["settled"] >= 1 and not [a for a in quiet["actions"] if a["verb"] != "report"]
    pid = site.project(site.new)["id"]
    site.engine.call("identity", "DELETE", f"/projects/{pid}/tags/{fingerprints.tag(fp)}")
    reread = json_pass("2027-01-20T10:00")
    assert reread["settled"] == quiet["settled"] - 1
    assert reread["requests"] > quiet["requests"]  # its groups, ports and quotas were read
    assert recorded() == [fp]  # … found as wanted, and recorded again
    assert json_pass("2027-01-20T11:00")["settled"] == quiet["settled"]
    # the placeholder's host gets its port: its rules can open, so the project is read
    net = site.engine.call("network", "GET", "/networks", params={"name": "zone-gov"})["networks"][
        0
    ]
    port = site.engine.call(
        "network",
        "POST",
        "/ports",
        json={
            "port": {
                "network_id": net["id"],
                "project_id": pid,
                "name": "db",
                "fixed_ips": [{"ip_address": "172.21.4.30"}],
            }
        },
    )["port"]
    site.engine.call(
        "network",
        "PUT",
        f"/ports/{port['id']}/tags",
        json={"tags": [desired.PLACEHOLDER_TAG + "智慧城管-数据库"]},
    )
    resolved = json_pass("2027-01-20T12:00")
    assert resolved["settled"] == quiet["settled"] - 1
    assert any(a["verb"] == "open" and a["status"] == "done" for a in resolved["actions"])
    [fp] = recorded()
    assert json_pass("2027-01-20T13:00")["settled"] == quiet["settled"]
    # the high-risk window ends: the project is read, its rules closed, the new set recorded
    closing = json_pass("2027-02-01T00:00:00")
    assert closing["settled"] == quiet["settled"] - 1
    assert {a["verb"] for a in closing["actions"] if a["verb"] != "report"} == {"close"}
    assert all(a["status"] == "done" for a in closing["actions"] if a["verb"] == "close")
    assert not [d for d in site.rule_descriptions(site.new) if d.endswith(" until 2027-01-31")]
    [after] = recorded()
    assert after != fp
    assert json_pass("2027-02-01T00:00:05")["settled"] == quiet["settled"]
    # apply agrees, but for binding the new port to its group: drift is apply's business
    r = site.cli("plan", "--now", "2027-02-01T00:00:05", "--format", "json")
    assert r.exit_code == 0, r.output
    left = [
        (c["action"], c["kind"], c["id"])
        for s in json.loads(r.stdout)["systems"]
        for c in s["changes"]
        if c["action"] in ("create", "update", "delete")
    ]
    assert left == [("update", "binding", port["id"])], left


def test_decommission_powers_off_keeps_seven_days_then_deletes_only_the_listed_hosts(
    site: Site,
) -> None:
    # room for a third host that the notice does not list
    site.edit(f"{OLD}/resource-application.yaml", "count: 2", "count: 3")
    site.apply("2026-12-10T10:00")
    flavor = "cg-4c8g100d"
    h21 = site.server(site.old, "172.20.4.21", flavor)
    h22 = site.server(site.old, "172.20.4.22", flavor)
    h23 = site.server(site.old, "172.20.4.23", flavor)
    for sid in (h21, h22, h23):
        site.wait(lambda sid=sid: (site.get_server(sid) or {}).get("status") == "ACTIVE")
    v21 = site.volume(site.old, 10, h21)
    v23 = site.volume(site.old, 5, h23)

    def status(sid: str) -> str:
        s = site.get_server(sid)
        return s["status"] if s else "DELETED"

    r = site.enforce("2026-12-14T23:59:59")
    assert r.exit_code == 0, r.output
    assert {status(h) for h in (h21, h22, h23)} == {"ACTIVE"}

    r = site.enforce("2026-12-15T10:00")
    assert r.exit_code == 0, r.output
    assert "关机 GT-2026-0012 172.20.4.21" in r.stdout
    site.wait(lambda: status(h21) == status(h22) == "SHUTOFF")
    assert status(h23) == "ACTIVE"
    meta = site.get_server(h21)["metadata"]  # type: ignore[index]
    assert meta[enforce.SHUTDOWN_KEY] == "GT-2026-0012"
    assert meta[enforce.POWEROFF_KEY] == "2026-12-15T10:00:00+08:00"
    assert site.get_volume(v21)["metadata"][enforce.SHUTDOWN_KEY] == "GT-2026-0012"

    for day in range(16, 23):
        if day == 18:  # someone powers a host back on during the seven days
            site.engine.call("compute", "POST", f"/servers/{h22}/action", json={"os-start": None})
            site.wait(lambda: status(h22) == "ACTIVE")
        r = site.enforce(f"2026-12-{day}T10:00")
        assert r.exit_code == 0, r.output
        assert "删除 GT-2026-0012" not in r.stdout
        if day == 18:
            assert "再次关机 GT-2026-0012 172.20.4.22" in r.stdout
            assert "不重新计时" in r.stdout
            site.wait(lambda: status(h22) == "SHUTOFF")
            meta = site.get_server(h22)["metadata"]  # type: ignore[index]
            assert meta[enforce.POWEROFF_KEY] == "2026-12-15T10:00:00+08:00"  # clock kept
        assert {status(h21), status(h22)} == {"SHUTOFF"}
        assert site.get_volume(v21)["status"] == "in-use"

    r = site.enforce("2026-12-22T23:59:59")
    assert r.exit_code == 0 and "删除 GT-2026-0012" not in r.stdout, r.output
    r = site.enforce("2026-12-23T00:00:00")
    assert r.exit_code == 0, r.output
    assert status(h21) == status(h22) == "DELETED"
    assert status(h23) == "ACTIVE"
    site.wait(lambda: site.get_volume(v21)["status"] == "gone")
    assert site.get_volume(v23)["status"] == "in-use"
    ports = site.engine.call(
        "network", "GET", "/ports", params={"project_id": site.project(site.old)["id"]}
    )["ports"]
    assert sorted(ip["ip_address"] for x in ports for ip in x["fixed_ips"]) == ["172.20.4.23"]
    # the reclaim record adds up: 2 × (4 vCPU, 8 GB, 100 GB) + the 10 GB volume
    rec = json.loads(next(site.records.glob("*GT-2026-0012.json")).read_text(encoding="utf-8"))
    assert rec["totals"] == {
        "hosts": 2,
        "vcpus": 8,
        "memory_mb": 16384,
        "storage_gb": 210,
        "system_disk_gb": 200,
        "volume_gb": 10,
    }
    assert sorted(h["host"] for h in rec["hosts"]) == ["172.20.4.21", "172.20.4.22"]
    assert "| **合计** | 2 台 |" in next(site.records.glob("*GT-2026-0012.md")).read_text(
        encoding="utf-8"
    )
    # a partial notice: the project, its quotas and groups stay for the remaining host
    assert desired.DECOMMISSIONED_TAG + "GT-2026-0012" not in site.project(site.old)["tags"]
    r = site.enforce("2026-12-24T10:00")
    assert r.exit_code == 0 and "没有到期的动作" in r.stdout, r.output
    audit = [json.loads(x) for x in site.audit.read_text(encoding="utf-8").splitlines()]
    assert {(x["action"], x["resource"]["kind"]) for x in audit} >= {
        ("poweroff", "server"),
        ("delete", "server"),
        ("delete", "volume"),
    }


def test_whole_system_late_confirmation_counts_from_the_recorded_power_off(site: Site) -> None:
    """all: true, the operator confirms three days late: nothing is touched until the
    confirmation, the seven days run from the late power-off, then the system's
    groups go, its quotas drop to zero and apply no longer reopens it."""
    site.edit(f"{OLD}/shutdown-notice.yaml", "hosts: [172.20.4.21, 172.20.4.22]", "all: true")
    site.edit(
        f"{OLD}/shutdown-notice.yaml",
        "operator:          {by: 李四, date: 2026-11-24, data_copied: true}",
        "operator:          {by: 李四, date: 2026-11-24, data_copied: false}",
    )
    site.apply("2026-12-10T10:00")
    fingerprinted = fingerprints.recorded(site.project(site.old)["tags"])
    assert len(fingerprinted) == 1  # apply recorded it
    h = site.server(site.old, "172.20.4.31", "cg-4c8g100d")
    site.wait(lambda: (site.get_server(h) or {}).get("status") == "ACTIVE")
    r = site.enforce("2026-12-16T10:00")
    assert r.exit_code == 0, r.output
    assert "延迟 GT-2026-0012" in r.stdout and "已延迟 1 天" in r.stdout
    assert site.get_server(h)["status"] == "ACTIVE"  # type: ignore[index]
    site.edit(f"{OLD}/shutdown-notice.yaml", "data_copied: false", "data_copied: true")
    r = site.enforce("2026-12-18T22:00")  # confirmed late: powered off (recorded) now
    assert r.exit_code == 0, r.output
    site.wait(lambda: (site.get_server(h) or {}).get("status") == "SHUTOFF")
    r = site.cli("upcoming", "--now", "2026-12-20T10:00", "--days", "7")
    assert r.exit_code == 0, r.output
    assert "2026-12-26" in r.stdout and "删除 GT-2026-0012 172.20.4.31" in r.stdout, r.output
    r = site.enforce("2026-12-25T23:59:59")  # 7 days after the calendar date, not the record
    assert r.exit_code == 0 and "删除 GT-2026-0012" not in r.stdout, r.output
    r = site.enforce("2026-12-26T00:00:00")
    assert r.exit_code == 0, r.output
    assert "回收 GT-2026-0012" in r.stdout
    assert site.get_server(h) is None
    proj = site.project(site.old)
    assert desired.DECOMMISSIONED_TAG + "GT-2026-0012" in proj["tags"]
    assert not fingerprints.recorded(proj["tags"])  # no longer true
    assert [g["name"] for g in site.groups(site.old)] in ([], ["default"])
    q = site.engine.read_quotas(proj["id"], ["compute", "volume", "network"])
    assert (q["instances"], q["cores"], q["ram_mb"], q["gigabytes"], q["floating_ips"]) == (
        0,
        0,
        0,
        0,
        0,
    )
    r = site.cli("plan", "--now", "2026-12-27T10:00", "--format", "json")
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    assert not [
        c
        for s in plan["systems"]
        for c in s["changes"]
        if c["system"] == site.old and c["action"] in ("create", "update")
    ]


def _textfile_values(path: Any) -> dict[str, float]:
    """The enforce run's samples, keyed by name (plus the result label for changes)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for fam in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in fam.samples:
            assert sample.labels["command"] == "enforce"
            key = sample.name
            if "result" in sample.labels:
                key += f'{{result="{sample.labels["result"]}"}}'
            out[key] = sample.value
    return out


def test_invalid_repository_changes_nothing_and_leaves_no_lock(site: Site) -> None:
    """A pass reads the cloud while it validates; an invalid repository must still stop it
    before any action — here, at a time when a valid one would close the high-risk rules —
    and the apply lock must be released."""
    site.apply("2027-01-15T10:00")
    before = sorted(site.rule_descriptions(site.new))
    assert any(d.endswith(" until 2027-01-31") for d in before)
    audit_lines = site.audit.read_text(encoding="utf-8").count("\n")
    (site.repo / "broken.yaml").write_text("kind: NetworkPolicy\nrules: [\n", encoding="utf-8")
    r = site.enforce("2027-02-02T10:00")
    assert r.exit_code == 1, r.output
    assert "表单校验未通过" in r.output and "broken.yaml" in r.output
    assert sorted(site.rule_descriptions(site.new)) == before
    assert site.audit.read_text(encoding="utf-8").count("\n") == audit_lines
    assert site.engine.lock_holder() is None
    (site.repo / "broken.yaml").unlink()
    r = site.enforce("2027-02-02T10:00")  # the same pass on the repaired repository acts
    assert r.exit_code == 0, r.output
    assert not [d for d in site.rule_descriptions(site.new) if d.endswith(" until 2027-01-31")]
