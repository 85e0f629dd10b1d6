"""The exporter's pure side (metrics from hand-built inputs), its HTTP side and --textfile."""

from __future__ import annotations

import gzip
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from cgcloud import clock, desired, textfile
from cgcloud import exporter as ex
from cgcloud import plan as p
from cgcloud.validate import validate

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SYSTEM = "智慧城管综合平台"
OLD = "旧版数字城管系统"
MANAGED = [desired.MANAGED_TAG]


def _project(pid: str, system: str) -> p.AProject:
    return p.AProject(pid, system, [*MANAGED, desired.SYSTEM_TAG + system])


def _inputs(
    now: str,
    rules: list[p.ARule],
    ingress: list[p.ARule] | None = None,
    servers: list[ex.Server] | None = None,
) -> ex.Inputs:
    when = clock.now_local(now)
    v = validate([POLICIES], when)
    state = desired.compile(v.repo, when)
    actual = p.ActualState(
        projects=[_project("p1", SYSTEM), _project("p2", OLD), p.AProject("p9", "hand-made")],
        groups=[
            p.AGroup(
                "g1",
                "cg-x",
                "p1",
                [
                    *MANAGED,
                    desired.SYSTEM_TAG + SYSTEM,
                    desired.GROUP_TAG + (state.groups[0].key if state.groups else "k"),
                ],
            ),
            p.AGroup("g9", "hand", "p9", []),
        ],
        rules=rules,
    )
    view = ex.CloudView(
        actual,
        ingress=ingress or [],
        servers=servers or [],
        volume_gb={"p1": 1000},
        floating_ips={"p1": 3},
    )
    return ex.Inputs(
        now=when,
        repo=v.repo,
        findings=v.findings,
        state=state,
        view=view,
        plan=p.diff(state, actual),
    )


def _rule(rid: str, port: int, desc: str) -> p.ARule:
    return p.ARule(rid, "g1", "ingress", "IPv4", "tcp", port, port, "10.0.0.0/8", None, desc)


def _samples(families: list[Any], name: str) -> list[tuple[dict[str, str], float]]:
    text = ex.render(families).decode()
    out = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name:
                out.append((s.labels, s.value))
    return out


HR = _rule("r7", 22, "cgcloud WL-2026-0031#7 until 2027-01-31")
NORMAL = _rule("r1", 443, "cgcloud WL-2026-0031#1 until 2027-12-31")


def test_rule_window_end_is_the_instant_after_the_last_day() -> None:
    fams = ex.compute(_inputs("2027-01-15T10:00", [HR, NORMAL]))
    ends = {s[0]["row"]: s for s in _samples(fams, "cgcloud_rule_window_end_timestamp_seconds")}
    labels, value = ends["7"]
    assert value == clock.now_local("2027-02-01T00:00").timestamp()
    assert labels == {
        "tenant": SYSTEM,
        "tenant_id": "p1",
        "system": SYSTEM,
        "form": "WL-2026-0031",
        "row": "7",
        "port": "tcp/22",
        "high_risk": "true",
    }
    assert ends["1"][0]["high_risk"] == "false"


@pytest.mark.parametrize(("now", "overdue"), [("2027-01-31T23:59:59", 0), ("2027-02-01T00:00", 1)])
def test_open_past_window_counts_from_midnight_after_the_last_day(now: str, overdue: int) -> None:
    fams = ex.compute(_inputs(now, [HR, NORMAL]))
    past = {s[0]["high_risk"]: s[1] for s in _samples(fams, "cgcloud_rules_open_past_window")}
    assert past == {"true": overdue, "false": 0}
    clk = _samples(fams, "cgcloud_exporter_clock_timestamp_seconds")
    assert clk[0][1] == clock.now_local(now).timestamp()


def test_ssh_rdp_exposures_skip_bastions_and_remote_groups_and_count_unmanaged() -> None:
    def rule(group: str, proto: str | None, lo: int | None, remote: str | None) -> p.ARule:
        remote_group = group if remote is None else None
        return p.ARule("r", group, "ingress", "IPv4", proto, lo, lo, remote, remote_group)

    ingress = [
        rule("g1", "tcp", 22, "172.20.0.10/32"),  # bastion: fine
        rule("g9", None, None, None),  # default-style east-west
        p.ARule("r", "g9", "ingress", "IPv4", "tcp", 20, 30, "0.0.0.0/0"),  # SSH to the world
        rule("g1", None, None, "10.1.0.0/16"),  # any protocol: both
        rule("g1", "tcp", 443, "0.0.0.0/0"),  # not SSH/RDP
    ]
    fams = ex.compute(_inputs("2027-01-15", [], ingress=ingress))
    got = {
        (s[0]["tenant_id"], s[0]["service"], s[0]["managed"]): s[1]
        for s in _samples(fams, "cgcloud_ssh_rdp_exposures")
    }
    assert got[("p9", "ssh", "false")] == 1
    assert got[("p1", "ssh", "true")] == 1 and got[("p1", "rdp", "true")] == 1
    assert ("p9", "rdp", "false") not in got


def test_quota_approved_used_and_utilization() -> None:
    servers = [ex.Server("s1", "", "p1", "ACTIVE", ["172.21.4.21"], {}, 16, 32768, 100)]
    fams = ex.compute(_inputs("2027-01-15", [], servers=servers))
    one = lambda name: _samples(fams, name)[0][1]  # noqa: E731
    assert one("cgcloud_approved_vcpus") == 64
    assert one("cgcloud_used_vcpus") == 16
    assert one("cgcloud_used_disk_bytes") == (100 + 1000) * 1024**3
    assert one("cgcloud_used_public_ips") == 3
    ratio = {s[0]["resource"]: s[1] for s in _samples(fams, "cgcloud_quota_utilization_ratio")}
    assert ratio["vcpus"] == 0.25 and ratio["public_ips"] == 1.5


def test_lapsed_drift_pending_and_findings() -> None:
    fams = ex.compute(_inputs("2027-01-15", [_rule("hand", 23, "")]))
    lapsed = {s[0]["system"]: s[1] for s in _samples(fams, "cgcloud_approval_lapsed")}
    assert lapsed == {SYSTEM: 0, OLD: 1}  # no 2027 form for the old system
    drift = {
        (s[0]["kind"], s[0]["action"]): s[1]
        for s in _samples(fams, "cgcloud_drift_changes")
        if s[0]["system"] == SYSTEM
    }
    assert drift[("rule", "delete")] == 1  # the hand-made rule
    assert drift[("rule", "create")] > 0
    pending = {s[0]["system"]: s[1] for s in _samples(fams, "cgcloud_pending_placeholders")}
    assert pending[SYSTEM] == 1  # 智慧城管-数据库 has no tagged port
    findings = _samples(fams, "cgcloud_validation_findings")
    assert len(findings) > 20 and all(s[1] == 0 for s in findings if s[0]["severity"] == "error")


def _srv(sid: str, ip: str, status: str, meta: dict[str, str]) -> ex.Server:
    return ex.Server(sid, "", "p2", status, [ip], meta, 4, 8192, 100)


@pytest.mark.parametrize(
    ("now", "servers", "stage", "due"),
    [
        ("2026-12-14T23:59", [], "scheduled", None),
        ("2026-12-15", [_srv("a", "172.20.4.21", "ACTIVE", {})], "power_off_due", None),
        (
            "2026-12-20",
            [
                _srv(
                    "a",
                    "172.20.4.21",
                    "SHUTOFF",
                    {
                        "cgcloud:shutdown": "GT-2026-0012",
                        "cgcloud:poweroff": "2026-12-15T23:59:00+08:00",
                    },
                )
            ],
            "powered_off",
            "2026-12-23T00:00",
        ),
        (
            "2026-12-23",
            [
                _srv(
                    "a",
                    "172.20.4.21",
                    "SHUTOFF",
                    {
                        "cgcloud:shutdown": "GT-2026-0012",
                        "cgcloud:poweroff": "2026-12-15T00:01:00+08:00",
                    },
                )
            ],
            "deletion_due",
            "2026-12-23T00:00",
        ),
        ("2026-12-24", [_srv("x", "172.20.4.99", "ACTIVE", {})], "reclaimed", None),  # not listed
    ],
)
def test_decommission_stage_and_deletion_due(
    now: str, servers: list[ex.Server], stage: str, due: str | None
) -> None:
    fams = ex.compute(_inputs(now, [], servers=servers))
    stages = {s[0]["stage"]: s[1] for s in _samples(fams, "cgcloud_decommission_stage")}
    assert [k for k, v in stages.items() if v == 1] == [stage]
    assert set(stages) == set(ex.DECOMMISSION_STAGES)
    dues = _samples(fams, "cgcloud_decommission_deletion_due_timestamp_seconds")
    assert [s[1] for s in dues] == ([clock.now_local(due).timestamp()] if due else [])


def test_server_serves_cached_bytes_gzip_and_survives_a_failed_refresh() -> None:
    calls = []

    def broken(cloud: str) -> Any:
        calls.append(cloud)
        raise ConnectionError("connect refused")

    e = ex.Exporter([POLICIES], "c1", engine_factory=broken, log=lambda m: None)
    fam = ex.GaugeMetricFamily("cgcloud_test_value", "t", labels=["a"])
    fam.add_metric(["x"], 7)
    e.set_snapshot([fam])
    assert e.refresh() is False and calls == ["c1"]
    server = ex.make_server(e, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        plain = urllib.request.urlopen(url, timeout=5).read().decode()
        req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            zipped = gzip.decompress(resp.read()).decode()
    finally:
        server.shutdown()
        server.server_close()
    assert plain == zipped
    assert 'cgcloud_test_value{a="x"} 7.0' in plain  # the last good snapshot is still served
    assert 'cgcloud_exporter_last_refresh_success{cloud="c1"} 0.0' in plain
    assert 'cgcloud_exporter_refresh_errors_total{cloud="c1"} 1.0' in plain


def test_clock_injection(tmp_path: Path) -> None:
    assert ex.make_clock("2027-02-01")() == clock.now_local("2027-02-01")
    f = tmp_path / "now"
    step = ex.make_clock(None, f)
    assert abs((step() - clock.now_local()).total_seconds()) < 5  # missing file: wall clock
    f.write_text("2027-01-15T10:00\n")
    assert step() == clock.now_local("2027-01-15T10:00")
    f.write_text("2027-02-02")
    assert step() == clock.now_local("2027-02-02")


def test_parse_listen() -> None:
    assert ex.parse_listen("127.0.0.1:9477") == ("127.0.0.1", 9477)
    assert ex.parse_listen("[::1]:9") == ("::1", 9)
    with pytest.raises(ValueError):
        ex.parse_listen("9477")


# --------------------------------------------------------------------------- textfile


def _read(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _get(values: dict[Any, float], name: str, **labels: str) -> float | None:
    for (n, lab), v in values.items():
        if n == name and all(dict(lab).get(k) == x for k, x in labels.items()):
            return v
    return None


def test_textfile_keeps_the_last_success_when_a_run_fails(tmp_path: Path) -> None:
    f = tmp_path / "cgcloud-enforce.prom"
    textfile.write_run(
        f, textfile.RunResult("enforce", "prod", True, 1000.0, 2.5, 40, 0, {"done": 3})
    )
    textfile.write_run(
        f,
        textfile.RunResult("enforce", "prod", False, 2000.0, 1.0, 5, 1, {"failed": 1}, exit_code=1),
    )
    v = _read(f)
    assert _get(v, "cgcloud_last_success_timestamp_seconds", command="enforce") == 1000.0
    assert _get(v, "cgcloud_last_run_timestamp_seconds") == 2000.0
    assert _get(v, "cgcloud_last_run_success") == 0.0
    assert _get(v, "cgcloud_last_run_api_errors") == 1.0
    assert _get(v, "cgcloud_last_run_changes", result="failed") == 1.0
    assert [x.name for x in tmp_path.iterdir()] == [f.name]  # no temp file left behind


def test_apply_textfile_records_a_refused_run(tmp_path: Path) -> None:
    bad = tmp_path / "repo"
    bad.mkdir()
    (bad / "x.yaml").write_text("apiVersion: cgcloud/v1\nkind: NetworkPolicy\nmetadata: {}\n")
    out = tmp_path / "tf" / "cgcloud-apply.prom"
    from cgcloud.cli import app

    r = CliRunner().invoke(
        app, ["apply", str(bad), "--cloud", "nowhere", "--yes", "--textfile", str(out)]
    )
    assert r.exit_code == 1, r.output
    v = _read(out)
    assert _get(v, "cgcloud_last_run_success", command="apply", cloud="nowhere") == 0.0
    assert _get(v, "cgcloud_last_run_exit_code") == 1.0
    assert _get(v, "cgcloud_last_success_timestamp_seconds") is None


def test_the_last_representable_moment_renders() -> None:
    """docs/reliability.md §2: `exporter --now 9999-12-31T23:59:59` computes its metrics
    (the year's end is the end of time, not an OverflowError every refresh)."""
    families = ex.compute(_inputs("9999-12-31T23:59:59", []))
    assert _samples(families, "cgcloud_build_info")
