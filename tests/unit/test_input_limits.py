"""Any accepted value works everywhere; linear time and bounded output for any input.

The commands run as a user runs them (``python -m cgcloud`` in a subprocess), so a
traceback or a parser line on stderr is seen exactly as a user would see it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cgcloud import capping, clock, loader, report
from cgcloud import validate as pipeline
from cgcloud.cli.options import EXIT_USAGE
from cgcloud.findings import Finding, Severity
from cgcloud.schemas import data_dir

POLICIES = data_dir("policies")
SOURCE = Path(__file__).resolve().parents[2]
NOW = clock.now_local("2026-11-25T10:00")
NP = "智慧城管综合平台/network-policy.yaml"
SN = "旧版数字城管系统/shutdown-notice.yaml"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    r = subprocess.run(
        [sys.executable, "-m", "cgcloud", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture
def far(tmp_path: Path) -> Path:
    """The shipped repository with "no end" dates: a period and a shutdown on 9999-12-31."""
    shutil.copytree(POLICIES, tmp_path / "p")
    np_ = tmp_path / "p" / NP
    np_.write_text(
        np_.read_text(encoding="utf-8").replace("end: 2027-12-31", "end: 9999-12-31"),
        encoding="utf-8",
    )
    sn = tmp_path / "p" / SN
    sn.write_text(
        sn.read_text(encoding="utf-8")
        .replace("shutdown_date: 2026-12-15", "shutdown_date: 9999-12-31")
        .replace("prepare_by: 2026-12-14", "prepare_by: 9999-12-30"),
        encoding="utf-8",
    )
    assert "9999-12-31" in np_.read_text(encoding="utf-8")
    assert "9999-12-31" in sn.read_text(encoding="utf-8")
    return tmp_path


# --------------------------------------------------------------------------- 2. values


def test_dates_up_to_9999_work_in_validate_and_explain(far: Path) -> None:
    r = cli("validate", "p", "--now", "2026-11-25", cwd=far)
    assert r.returncode == 0, r.stdout
    for now in ("2026-11-25", "9999-12-31", "9999-12-31T23:59:59"):
        r = cli("explain", "p", "--now", now, "-f", "json", cwd=far)
        assert r.returncode == 0
        json.loads(r.stdout)
        r = cli("validate", "p", "--now", now, "-f", "sarif", cwd=far)
        assert r.returncode in (0, 1)
        json.loads(r.stdout)


def test_upcoming_with_huge_days_and_last_day(far: Path) -> None:
    r = cli("upcoming", "p", "--now", "2026-11-25", "--days", "1000000000", "-f", "json", cwd=far)
    assert r.returncode == 0
    events = json.loads(r.stdout)["events"]
    poweroffs = [e for e in events if e["verb"] == "poweroff"]
    assert [e["at"][:10] for e in poweroffs] == ["9999-12-31"]
    # the day after 9999-12-31 is beyond the calendar: nothing "closes" or is deleted then
    assert not any(e["at"].startswith("10000") for e in events)
    assert not any(e["verb"] == "close" and "9999-12-31" in e["message"] for e in events)
    r = cli("upcoming", "p", "--now", "9999-12-31", cwd=far)
    assert r.returncode == 0 and "没有到期的动作" in r.stdout
    r = cli("upcoming", "p", "--now", "9999-12-30T12:00", "--days", "3", "-f", "json", cwd=far)
    assert [e["verb"] for e in json.loads(r.stdout)["events"]] == ["poweroff"]


def test_unrepresentable_now_is_a_usage_error(far: Path) -> None:
    for value in ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00+14:00", "10000-01-01"):
        r = cli("validate", "p", "--now", value, cwd=far)
        assert r.returncode == EXIT_USAGE and "错误" in r.stderr, (value, r.stderr)
        r = cli("upcoming", "p", "--now", value, cwd=far)
        assert r.returncode not in (0, 2) and "错误" in r.stderr, (value, r.stderr)


def test_clock_saturates_at_the_ends_of_the_calendar() -> None:
    assert clock.max_high_risk_end(date(9999, 12, 15)) == date.max
    assert clock.max_high_risk_end(date(9999, 11, 30)) == date(9999, 12, 29)
    assert clock.add_months(date(9999, 12, 31), 1) == date.max
    assert clock.add_months(date(1, 1, 31), -1) == date.min
    endless = clock.Window(date(2027, 1, 1), date.max)
    assert endless.closes_at == clock.END_OF_TIME
    assert endless.contains(clock.END_OF_TIME) and not endless.is_past(clock.END_OF_TIME)
    last = clock.start_of(date(9999, 12, 30))
    assert clock.full_days_after(last, 7) == clock.END_OF_TIME
    assert clock.days_later(NOW, 10**9) == clock.END_OF_TIME
    assert clock.days_later(NOW, -(10**9)) == clock.START_OF_TIME
    assert clock.year_start(10000) == clock.END_OF_TIME
    clock.END_OF_TIME.timestamp()  # representable in UTC too
    clock.START_OF_TIME.timestamp()


@settings(max_examples=200, deadline=None)
@given(st.dates(), st.integers(min_value=-(10**12), max_value=10**12))
def test_add_days_is_exact_or_saturated(day: date, n: int) -> None:
    out = clock.add_days(day, n)
    try:
        exact = day + timedelta(days=n)
    except OverflowError:
        assert out == (date.max if n > 0 else date.min)
    else:
        assert out == exact


# --------------------------------------------------------------------------- 3. output


def test_bom_keeps_positions(tmp_path: Path) -> None:
    text = (POLICIES / NP).read_bytes().replace(b"TCP443", b"TCP99999")
    (tmp_path / "plain").mkdir()
    (tmp_path / "bom").mkdir()
    (tmp_path / "plain" / "np.yaml").write_bytes(text)
    (tmp_path / "bom" / "np.yaml").write_bytes(b"\xef\xbb\xbf" + text)
    assert text.startswith(b"#")  # like every shipped form

    def where(folder: str) -> list[tuple[str, int, int]]:
        v = pipeline.validate([tmp_path / folder], NOW)
        return [(f.rule, f.line, f.column) for f in v.findings]

    plain = where("plain")
    assert plain and not any(rule == "CG001" for rule, _, _ in plain)
    assert where("bom") == plain


def test_deep_nesting_has_a_reason_and_stderr_stays_clean(tmp_path: Path) -> None:
    n = 200
    (tmp_path / "flow.yaml").write_text(
        "apiVersion: cgcloud/v1\nkind: Zones\nzones: " + "[" * n + "]" * n + "\n"
    )
    (tmp_path / "block.yaml").write_text(
        "apiVersion: cgcloud/v1\nkind: Zones\nzones:\n"
        + "".join("  " * i + "- \n" for i in range(1, n))
    )
    r = cli("validate", ".", "-f", "json", cwd=tmp_path)
    assert r.stderr == ""
    found = json.loads(r.stdout)["findings"]
    assert {f["file"] for f in found} == {"flow.yaml", "block.yaml"}
    for f in found:
        assert f["rule"] == "CG001" and "嵌套层数过深" in f["message"], f


def test_parse_errors_leave_nothing_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: [1, 2\nb: }\n")
    (tmp_path / "b.yaml").write_text('a: "open\n')
    r = cli("validate", ".", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == ""
    assert r.stdout.count("CG001") == 2


def _flow(n: int, key: str = "键") -> str:
    keys = ", ".join(f"{key}{i}: {i}" for i in range(n))
    return "{apiVersion: cgcloud/v1, kind: Zones, zones: [], " + keys + "}\n"


def test_one_flow_line_of_many_keys_is_capped_and_consistent(tmp_path: Path) -> None:
    (tmp_path / "z.yaml").write_text(_flow(30_000), encoding="utf-8")
    v = pipeline.validate([tmp_path / "z.yaml"], NOW)
    unknown = [f for f in v.findings if f.rule == "CG011"]
    assert len(unknown) == capping.MAX_PER_RULE + 1
    summary = unknown[-1]
    assert "另有 29980 处" in summary.message and summary.extra[capping.OMITTED] == 29980
    assert summary.line == 1 and summary.column > unknown[-2].column  # first omitted key
    as_json = json.loads(report.render(v, "json"))
    as_sarif = json.loads(report.render(v, "sarif"))
    assert len(as_json["findings"]) == len(v.findings) == len(as_sarif["runs"][0]["results"])


def test_positions_on_a_long_line_are_exact(tmp_path: Path) -> None:
    text = _flow(3_000, key="区域键")  # ~60 KB of one line, mostly three-byte characters
    path = tmp_path / "z.yaml"
    path.write_text(text, encoding="utf-8")
    raw = text.encode()
    src = loader.SourceFile(path, "z.yaml", raw)
    for m in list(re.finditer("区域键", text))[::97]:
        offset = len(text[: m.start()].encode())
        assert src.position_of(offset) == loader.Position(1, m.start() + 1)


def test_locating_is_bounded_by_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quadratic part was one position lookup per key, each scanning the line and the
    mapping: now only the findings shown are located, whatever the number of keys."""
    calls = 0
    original = loader.Document.locate

    def counting(self: loader.Document, *a: object, **k: object) -> loader.Position:
        nonlocal calls
        calls += 1
        return original(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(loader.Document, "locate", counting)
    for n in (2_000, 20_000):
        calls = 0
        (tmp_path / "z.yaml").write_text(_flow(n), encoding="utf-8")
        pipeline.validate([tmp_path / "z.yaml"], NOW)
        assert calls <= 2 * capping.MAX_PER_RULE + 5, (n, calls)


def test_cap_merges_earlier_summaries_and_keeps_the_worst_severity() -> None:
    def f(rule: str, line: int, sev: Severity = Severity.WARNING) -> Finding:
        return Finding(rule, sev, "m", "a.yaml", line, 1)

    findings = [f("CG101", i) for i in range(1, 26)] + [f("CG101", 30, Severity.ERROR)]
    findings.append(capping.summary(f("CG101", 40), 100))
    findings.append(f("CG102", 1))
    findings.sort(key=lambda x: x.sort_key)
    out = capping.cap(findings, limit=20)
    cg101 = [x for x in out if x.rule == "CG101"]
    assert len(cg101) == 21
    assert cg101[-1].extra[capping.OMITTED] == 5 + 1 + 100
    assert cg101[-1].severity is Severity.ERROR and cg101[-1].line == 21
    assert [x.rule for x in out].count("CG102") == 1


# --------------------------------------------------------------------------- follow-ons


def test_a_form_that_failed_to_load_causes_no_follow_on(tmp_path: Path) -> None:
    shutil.copytree(POLICIES, tmp_path / "p")
    app = tmp_path / "p" / "智慧城管综合平台" / "resource-application.yaml"
    app.write_text(app.read_text(encoding="utf-8") + "\nbroken: [\n", encoding="utf-8")
    v = pipeline.validate([tmp_path / "p"], NOW)
    rules = {f.rule for f in v.findings if f.severity is Severity.ERROR}
    assert rules == {"CG001"}, [(f.rule, f.message) for f in v.findings]
    # a form that really is missing is still reported
    proj = tmp_path / "p" / "智慧城管综合平台" / "project-application.yaml"
    proj.write_text(
        proj.read_text(encoding="utf-8").replace("WL-2026-0031]", "WL-2026-0031, ZY-2027-9999]"),
        encoding="utf-8",
    )
    v = pipeline.validate([tmp_path / "p"], NOW)
    (missing,) = [f for f in v.findings if f.rule == "CG701"]
    assert "ZY-2027-9999" in missing.message


def test_a_broken_zones_file_is_not_replaced_by_the_defaults(tmp_path: Path) -> None:
    shutil.copytree(POLICIES, tmp_path / "p")
    zones = tmp_path / "p" / "zones.yaml"
    zones.write_text(
        zones.read_text(encoding="utf-8").replace("zones:", "zones: [", 1), encoding="utf-8"
    )
    repo, findings, _ = pipeline.load_repository([tmp_path / "p"])
    assert repo.zones is None and not repo.zones_is_default
    assert [f.rule for f in findings] == ["CG001"]


def test_parser_reports_stay_off_descriptor_2_in_process(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Even when sys.stderr is someone else's object (pytest, a service's log handler),
    rapidyaml's C++ report must not reach descriptor 2."""
    (tmp_path / "a.yaml").write_text("a: [1, 2\n")
    (tmp_path / "b.yaml").write_text("a: " + "[" * 100 + "]" * 100 + "\n")
    v = pipeline.validate([tmp_path], NOW)
    assert [f.rule for f in v.findings] == ["CG001", "CG001"]
    assert capfd.readouterr().err == ""


def test_huge_numbers_and_huge_keys_have_short_findings(tmp_path: Path) -> None:
    head = "apiVersion: cgcloud/v1\nkind: Zones\nzones: []\n"
    (tmp_path / "n.yaml").write_text(head + "x: -" + "9" * 5000 + "\n")
    (tmp_path / "k.yaml").write_text(head + "k" * 200_000 + ": 1\n")
    v = pipeline.validate([tmp_path], NOW)
    (big,) = [f for f in v.findings if f.file.endswith("n.yaml")]
    assert (big.rule, big.line, big.column) == ("CG001", 4, 5) and "5000 位" in big.message
    (key,) = [f for f in v.findings if f.file.endswith("k.yaml") and f.rule == "CG011"]
    assert len(key.message) < 200 and "…" in key.message


def test_a_broken_file_is_remembered_with_the_kinds_it_names() -> None:
    flow = loader.Unloaded.of("a.yaml", b"{apiVersion: cgcloud/v1, kind: NetworkPolicy, x: [")
    assert flow.kinds == frozenset({"NetworkPolicy"})
    assert flow.might_hold(["NetworkPolicy"], "cgcloud/v1")
    assert not flow.might_hold(["NetworkPolicy"], "WL-2099-0001")
    assert not flow.might_hold(["Zones"])
    unread = loader.Unloaded.of("b.yaml", None)  # unreadable: it may hold anything
    assert unread.might_hold(["Zones"], "anything")


def test_quiet_parsing_from_threads_leaves_descriptor_2_as_it_was(tmp_path: Path) -> None:
    """Services validate in threads: overlapping swaps of descriptor 2 must not leave it
    pointing at the scratch file."""
    from concurrent.futures import ThreadPoolExecutor

    for i in range(8):
        (tmp_path / f"{i}.yaml").write_text("a: [1, 2\n" if i % 2 else "a: 1\n")
    before = os.fstat(2)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: loader.load([tmp_path]), range(40)))
    assert all(len(r.findings) == 4 for r in results)
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
