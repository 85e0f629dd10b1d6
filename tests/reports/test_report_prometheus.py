"""`cgcloud report` against a real Prometheus holding a month of known history.

Every expected number is derived by hand from the constants of history.py: the report
must give back what was put in (means over the real samples, maxima, the deliberate
two-day gap, alert durations against their 第二十三条 limits).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import history as h
import pytest
from openpyxl import load_workbook
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
PER_SERIES = 31 * 96 - 191  # 15-minute samples in January minus the 191 inside the gap
N1 = 15 * 96 - 191  # system A's samples before 2027-01-16 (4 vCPUs), the gap included
N2 = 16 * 96  # from 2027-01-16 on (12 vCPUs)
MEAN_A = (4 * N1 + 12 * N2) / PER_SERIES
GIB = 1024**3


def run(url: str, state: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cgcloud",
            "report",
            "--period",
            "2027-01",
            "--prometheus",
            url,
            "--gap",
            "1800",
            "--audit-log",
            str(state["audit"]),
            "--records",
            str(state["records"]),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )


@pytest.fixture(scope="module")
def report(prometheus_url: str, state_files: dict[str, Path]) -> dict[str, Any]:
    r = run(prometheus_url, state_files, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def system(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["systems"] if s["system"] == name)


def test_usage_statistics_are_the_samples_put_in(report: dict[str, Any]) -> None:
    a = system(report, h.A)["resources"]["vcpus"]
    assert a["used"]["samples"] == PER_SERIES
    assert a["used"]["min"] == 4 and a["used"]["max"] == 12
    assert a["used"]["mean"] == pytest.approx(MEAN_A, rel=1e-12)
    assert a["approved"]["mean"] == 16
    assert a["utilisation"]["mean"] == pytest.approx(MEAN_A / 16, rel=1e-12)
    assert a["utilisation"]["max"] == 0.75
    ram = system(report, h.A)["resources"]["ram_bytes"]
    assert ram["used"]["mean"] == pytest.approx((8 * N1 + 24 * N2) * GIB / PER_SERIES, rel=1e-12)
    assert system(report, h.C)["resources"]["disk_bytes"]["used"]["max"] == 190 * GIB
    t = report["totals"]["vcpus"]
    assert t["used"]["mean"] == pytest.approx(MEAN_A + 2 + 8, rel=1e-12)
    assert (t["used"]["min"], t["used"]["max"], t["approved"]["mean"]) == (14, 22, 56)
    assert t["utilisation_mean"] == pytest.approx((MEAN_A + 10) / 56, rel=1e-12)


def test_the_gap_is_reported_and_not_interpolated(report: dict[str, Any]) -> None:
    cov = report["coverage"]
    assert cov["gaps"] == [
        {
            "start": "2027-01-10T00:00:00+08:00",
            "end": "2027-01-12T00:00:00+08:00",
            "seconds": 172800.0,
        }
    ]
    assert cov["covered_ratio"] == pytest.approx(1 - 2 / 31)
    chart = report["charts"]["vcpus"]
    assert chart["step"] == 10800
    inside = [
        v
        for t, v in zip(chart["times"], chart["total"], strict=True)
        if h.GAP[0] + chart["step"] <= t < h.GAP[1]
    ]
    assert inside and all(v is None for v in inside)
    before = [v for t, v in zip(chart["times"], chart["total"], strict=True) if t <= h.GAP[0]]
    assert before and all(v == pytest.approx(14 / 56) for v in before)


def test_incidents_have_levels_durations_and_limits(report: dict[str, Any]) -> None:
    by = {i["alert"]: i for i in report["incidents"]}
    assert set(by) == {
        "CgcloudHighRiskRuleOpenPastWindow",
        "CloudServiceDown",
        "CgcloudApprovalLapsed",
    }
    hr = by["CgcloudHighRiskRuleOpenPastWindow"]
    assert (hr["level"], hr["seconds"], hr["limit_seconds"], hr["within_limit"]) == (
        "三级",
        9000,
        14400,
        True,
    )
    assert hr["start"] == "2027-01-05T10:00:00+08:00" and not hr["needs_incident_report"]
    down = by["CloudServiceDown"]
    assert (down["level"], down["seconds"], down["limit_seconds"]) == ("一级", 5400, 3600)
    assert down["within_limit"] is False and down["needs_incident_report"] is True
    lapsed = by["CgcloudApprovalLapsed"]
    assert lapsed["level"] == "不计（提示）" and lapsed["limit_seconds"] is None


def test_records_audit_and_compliance_sections(report: dict[str, Any]) -> None:
    c = report["changes"]
    assert (c["total"], c["done"], c["failed"], c["rules_opened"], c["rules_closed"]) == (
        4,
        3,
        1,
        2,
        1,
    )
    assert [f["error"] for f in c["failures"]] == ["HttpException: 409 Conflict"]
    assert report["reclaims"] == [
        {
            "notice": "GT-2027-0001",
            "system": h.B,
            "cloud": "devcloud",
            "file": "回收记录-devcloud-GT-2027-0001.json",
            "hosts": 1,
            "vcpus": 4,
            "memory_gb": 8.0,
            "storage_gb": 110,
            "system_reclaimed": False,
        }
    ]
    assert any(re.search(r"audit\.jsonl:6: ", w) for w in report["warnings"]), report["warnings"]
    assert any("broken.json" in w for w in report["warnings"]), report["warnings"]
    comp = report["compliance"]
    assert comp["lapsed"] == [h.B]
    assert comp["high_risk_windows"] == [
        {
            "system": h.A,
            "form": "WL-2026-0031",
            "row": "7",
            "port": "tcp/22",
            "window_end": "2027-01-05T00:00:00+08:00",
        }
    ]
    assert comp["drift"] == [{"system": h.A, "max_changes": 3, "at_end": 0, "repaired": True}]
    assert comp["validation_max"] == [{"rule": "CG-FORM-001", "severity": "error", "max": 2}]
    assert comp["decommission_stages"] == [
        {"system": h.B, "form": "GT-2027-0001", "stages": ["scheduled", "awaiting_confirmation"]}
    ]


def test_usage_analysis_proposes_numbers(report: dict[str, Any]) -> None:
    under = {(x["system"], x["resource"]): x["proposed"] for x in report["analysis"]["under_used"]}
    assert under == {
        (h.B, "vcpus"): 3,
        (h.B, "ram_bytes"): 5 * GIB,
        (h.B, "disk_bytes"): 120 * GIB,
        (h.B, "public_ips"): 0,
    }
    near = {
        (x["system"], x["resource"]): x["utilisation_max"] for x in report["analysis"]["near_quota"]
    }
    assert near == {
        (h.C, "vcpus"): 1.0,
        (h.C, "ram_bytes"): 1.0,
        (h.C, "disk_bytes"): 0.95,
        (h.C, "public_ips"): 1.0,
    }


HS_MEAN_A = (100 * N1 + 150 * N2) * GIB / PER_SERIES  # system A's high-speed disk
OFF_DB = h.END - h.STEP - h.at(20)  # db-old: off from 01-20 00:00 to the last sample
OFF_LEGACY = h.END - h.STEP - h.DEC1  # legacy: off since 2026-12-01


def tier(report: dict[str, Any], system_: str, name: str) -> dict[str, Any]:
    return next(
        t for t in report["storage"]["tiers"]["rows"] if (t["system"], t["tier"]) == (system_, name)
    )


def test_disk_per_tier_is_the_samples_put_in(report: dict[str, Any]) -> None:
    hs = tier(report, h.A, "high-speed")
    assert hs["used"]["samples"] == PER_SERIES
    assert (hs["used"]["min"], hs["used"]["max"]) == (100 * GIB, 150 * GIB)
    assert hs["used"]["mean"] == pytest.approx(HS_MEAN_A, rel=1e-12)
    assert hs["approved"]["max"] == 200 * GIB
    assert hs["utilisation"]["mean"] == pytest.approx(HS_MEAN_A / (200 * GIB), rel=1e-12)
    assert hs["utilisation"]["max"] == 0.75
    std = tier(report, h.A, "standard")
    assert std["used"]["mean"] == pytest.approx((150 * N1 + 100 * N2) * GIB / PER_SERIES, rel=1e-12)
    assert tier(report, h.A, "system_disk")["used"]["max"] == 50 * GIB
    assert tier(report, h.B, "high-speed")["utilisation"]["max"] == pytest.approx(60 / 500)
    totals = report["storage"]["tiers"]["totals"]
    assert set(totals) == {"high-speed", "standard", "system_disk"}
    assert totals["high-speed"]["approved_mean"] == 700 * GIB
    assert totals["high-speed"]["used_mean"] == pytest.approx(HS_MEAN_A + 60 * GIB, rel=1e-12)


def test_hosts_powered_off_for_long(report: dict[str, Any]) -> None:
    off = report["storage"]["hosts_off"]
    assert [(x["system"], x["server"]) for x in off["hosts"]] == [
        (h.C, "legacy"),  # the longest first
        (h.A, "db-old"),
    ]  # batch was off 3 days only; the decommissioned host is apart
    legacy, db = off["hosts"]
    assert db["longest_off_seconds"] == OFF_DB  # 12 days less one 15-minute step
    assert db["off_since"] == "2027-01-20T00:00:00+08:00"
    assert db["off_share"] == pytest.approx(12 * 96 / PER_SERIES, rel=1e-12)  # samples only
    assert db["powered_on_at_end"] is False
    assert legacy["longest_off_seconds"] == OFF_LEGACY
    assert legacy["off_since"] == "2026-12-01T00:00:00+08:00" and legacy["off_share"] == 1
    assert [(x["server"], x["shutdown_form"]) for x in off["decommissioned"]] == [
        ("host-172.20.4.21", "GT-2027-0001")
    ]
    batch = next(x for x in report["storage"]["servers"] if x["server"] == "batch")
    assert batch["longest_off_seconds"] == h.at(5) - h.STEP - h.at(2)
    assert batch["powered_on_at_end"] is True


def test_cold_volumes_on_high_speed_tiers(report: dict[str, Any]) -> None:
    st = report["storage"]
    seen = {v["volume"] for v in st["high_speed_volumes"]["rows"]}
    assert seen == {"pg-data", "archive-2025", "db-old-data", "logs"}  # tmp was deleted
    assert st["high_speed_volumes"]["data_at_end"] is True
    (cold,) = st["cold_volumes"]
    assert (cold["system"], cold["volume"], cold["tier"]) == (h.A, "archive-2025", "high-speed")
    assert cold["idle_seconds"] == 73 * 86400  # 2026-11-20 → 2027-02-01
    assert cold["last_used"] == "2026-11-20T00:00:00+08:00"
    assert (cold["size_bytes"], cold["attached_servers"], cold["in_use_in_period"]) == (
        50 * GIB,
        0,
        False,
    )
    db_old = next(v for v in st["high_speed_volumes"]["rows"] if v["volume"] == "db-old-data")
    assert db_old["in_use_in_period"] is True  # used until 01-20: not cold
    assert db_old["idle_seconds"] == h.END - h.at(20)
    assert report["thresholds"]["high_speed_tiers"] == ["high-speed"]


def test_thresholds_change_what_is_listed(
    prometheus_url: str, state_files: dict[str, Path]
) -> None:
    r = run(
        prometheus_url,
        state_files,
        "--format",
        "json",
        "--off-days",
        "2",
        "--cold-days",
        "5",
        "--high-speed-tiers",
        "high-speed,standard",
    )
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)["storage"]
    assert {x["server"] for x in st["hosts_off"]["hosts"]} == {"legacy", "db-old", "batch"}
    batch = next(x for x in st["hosts_off"]["hosts"] if x["server"] == "batch")
    assert batch["off_since"] == "2027-01-02T00:00:00+08:00"  # not when it came back on
    assert batch["powered_on_at_end"] is True
    assert {v["volume"] for v in st["cold_volumes"]} == {"archive-2025", "logs", "scratch"}


def test_markdown_shows_the_numbers_and_png_charts(
    prometheus_url: str, state_files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "月报.md"
    r = run(prometheus_url, state_files, "--format", "markdown", "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# 云资源运行和使用情况月报（2027-01）")
    assert (
        f"| {h.A} | vCPU（核） | 16 | 4 | {MEAN_A:.2f} | 12 | {MEAN_A / 16 * 100:.1f}% | 75.0% |"
        in text
    )
    assert "| 2027-01-10T00:00:00+08:00 | 2027-01-12T00:00:00+08:00 | 48.00 h |" in text
    assert "| 一级 | CloudServiceDown | nova-api |" in text and "否（超时）" in text
    assert (
        f"| {h.A} | 高速存储 | 200.0 | 100.0 | {HS_MEAN_A / GIB:.1f} | 150.0 | "
        f"{HS_MEAN_A / (200 * GIB) * 100:.1f}% | 75.0% |" in text
    )
    assert (
        f"| {h.A} | db-old | {OFF_DB / 86400:.2f} | 2027-01-20T00:00:00+08:00 | "
        f"{12 * 96 / PER_SERIES * 100:.1f}% | 关机 |" in text
    )
    assert (
        f"| {h.A} | archive-2025 | 高速存储 | 50.0 | 0 | 2026-11-20T00:00:00+08:00 | 73.00 |"
        in text
    )
    pngs = sorted((tmp_path / "月报-charts").glob("*.png"))
    assert {p.stem for p in pngs} == {
        "vcpus",
        "ram_bytes",
        "disk_bytes",
        "public_ips",
        "validation",
        "incidents",
    }
    for p in pngs:
        assert f"(月报-charts/{p.name})" in text
        assert len(Image.open(p).convert("RGB").getcolors(1 << 20) or []) > 20, p.name


def test_xlsx_holds_the_cells(
    prometheus_url: str, state_files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "r.xlsx"
    r = run(prometheus_url, state_files, "--format", "xlsx", "--out", str(out))
    assert r.returncode == 0, r.stderr
    wb = load_workbook(out)
    assert (
        "资源批准与使用（按系统）" in wb.sheetnames and "故障与响应（第二十三条）" in wb.sheetnames
    )
    rows = [[c.value for c in row] for row in wb["资源批准与使用（按系统）"].iter_rows()]
    a = next(r for r in rows if r[:2] == [h.A, "vCPU（核）"])
    assert a[2:6] == [16, 4, pytest.approx(round(MEAN_A, 2)), 12]
    assert a[6] == pytest.approx(round(MEAN_A / 16, 3))
    inc = [[c.value for c in row] for row in wb["故障与响应（第二十三条）"].iter_rows()]
    down = next(r for r in inc if r[1] == "CloudServiceDown")
    assert down[0] == "一级" and down[5] == pytest.approx(1.5) and down[8] == "需要"
    assert wb["利用率数据"]._charts, "native Excel charts of the utilisation"
    ana = [[c.value for c in row] for row in wb["使用情况分析（第十四条）"].iter_rows()]
    cold = next(r for r in ana if r[1] == "archive-2025")
    assert cold[2:7] == ["高速存储", 50, 0, "2026-11-20T00:00:00+08:00", 73]
    db = next(r for r in ana if r[1] == "db-old")
    assert db[2] == pytest.approx(round(OFF_DB / 86400, 2))


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def _chromium(chromium: str, page: Path, shot: Path, profile: Path, height: int) -> str:
    r = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            f"--window-size=1200,{height}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shot.is_file(), r.stderr[-2000:]
    return r.stderr


def test_html_is_self_contained_and_renders_in_chromium(
    prometheus_url: str, state_files: dict[str, Path], chromium: str, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    r = run(prometheus_url, state_files, "--format", "html", "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert not re.search(
        r"""(src|href)\s*=\s*["']?(https?:|//)|url\((?!#)|<script|<link|@import""", text
    )
    assert text.count("<svg") == 6
    # the detector sees a console error: a page with a broken script is caught
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>undefined_fn()</script>", encoding="utf-8")
    assert _console(_chromium(chromium, bad, tmp_path / "bad.png", tmp_path / "p1", 300))
    shot = tmp_path / "report.png"
    err = _chromium(chromium, out, shot, tmp_path / "p2", 9000)
    assert _console(err) == []
    im = Image.open(shot).convert("RGB")
    colours: dict[Any, int] = {c: n for n, c in im.getcolors(1 << 22) or []}

    def near(rgb: tuple[int, int, int], tol: int = 12) -> int:
        return sum(
            n for c, n in colours.items() if all(abs(c[i] - rgb[i]) <= tol for i in range(3))
        )

    # the lines of the utilisation charts (matplotlib's first colours), the gap shading and
    # the incident bars (一级 red, 三级 yellow) are drawn
    assert near((0x1F, 0x77, 0xB4)) > 500, "合计 line (blue)"
    assert near((0xFF, 0x7F, 0x0E), 60) > 500, "first system line (orange)"
    assert near((0xC0, 0x39, 0x2B)) > 50, "一级 incident bar"
    assert near((0xF1, 0xC4, 0x0F)) > 50, "三级 incident bar"


def test_a_server_that_refuses_big_queries_gives_the_same_numbers(
    small_prometheus_url: str, state_files: dict[str, Path], report: dict[str, Any]
) -> None:
    """query.max-samples: the period is split into parts whose results combine exactly."""
    r = run(small_prometheus_url, state_files, "--format", "json")
    assert r.returncode == 0, r.stderr
    split = json.loads(r.stdout)
    assert split["query_splits"] > 1 and report["query_splits"] == 1
    for key in (
        "systems",
        "totals",
        "coverage",
        "incidents",
        "analysis",
        "compliance",
        "storage",
    ):
        assert _close(split[key], report[key]), key


def _close(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 relative (sums of parts round differently from the whole)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float | int):
        return bool(a == pytest.approx(b, rel=1e-9))
    return bool(a == b)
