"""`cgcloud reach` over the forms: properties of the index (hypothesis) and the command.

Every repository here is real YAML read by the real loader and model (the shipped
zones and high-risk list), so a property is about what a user's forms mean.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cgcloud import clock, grammar
from cgcloud.cli import app
from cgcloud.reach import cache
from cgcloud.reach.facts import ACTIVE, CLOSED, LATER, UNAPPROVED, collect
from cgcloud.reach.index import Endpoint, Index, QueryError, Service, parse_endpoint, parse_target
from cgcloud.schemas import data_dir
from cgcloud.validate import load_repository

SIGNED = date(2026, 1, 1)
BASE = date(2026, 6, 1)
GOV, INTERNET = grammar.ip_to_int("172.21.0.0"), grammar.ip_to_int("172.20.0.0")


def policy_yaml(rows: list[str], start: date, end: date, form: str = "WL-P-1") -> str:
    """A NetworkPolicy approved by three distinct reviewers before ``start``; normal and
    high-risk sections share the window (≤ one month), so every row is approved."""
    body = "\n".join(f"    - {r}" for r in rows)
    return f"""apiVersion: cgcloud/v1
kind: NetworkPolicy
metadata: {{id: {form}, system: 测试系统}}
spec:
  applicant: {{org: 某某科技有限公司, name: 周九, phone: "13900000000"}}
  normal: {{reason: 测试, period: {{start: {start}, end: {end}}}}}
  high_risk: {{reason: 测试, period: {{start: {start}, end: {end}}}}}
  reviewers:
    cloud_resource_manager: {{by: 钱七, date: {SIGNED}}}
    business_leader: {{by: 王五, date: {SIGNED}}}
    cloud_resource_leader: {{by: 吴十, date: {SIGNED}}}
  rules:
{body}
"""


def index_of(files: dict[str, str]) -> Index:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("zones.yaml", "high-risk-ports.yaml"):
            shutil.copy(data_dir("policies") / name, root / name)
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8")
        repo, findings, _ = load_repository([root])
    assert not [f for f in findings if f.severity.value == "error"], findings
    return Index(collect(repo))


# --------------------------------------------------------------------------- strategies


@st.composite
def cells(draw: st.DrawFn, base: int) -> tuple[str, int, int]:
    """An address cell inside a /16 zone pool: (text, low, high)."""
    third = draw(st.integers(1, 250))
    kind = draw(st.sampled_from(["single", "range", "cidr"]))
    net = base + (third << 8)
    if kind == "cidr":
        return f"{grammar.int_to_ip(net)}/24", net, net + 255
    lo = draw(st.integers(1, 250))
    if kind == "single":
        return grammar.int_to_ip(net + lo), net + lo, net + lo
    hi = draw(st.integers(lo, 254))
    return f"{grammar.int_to_ip(net + lo)}-{hi}", net + lo, net + hi


@st.composite
def port_cells(draw: st.DrawFn) -> tuple[str, str, int, int]:
    proto = draw(st.sampled_from(["tcp", "udp"]))
    lo = draw(st.integers(1000, 1100))
    hi = draw(st.integers(lo, 1110))
    text = f"{proto.upper()}{lo}" if lo == hi else f"{proto.upper()}{lo}-{hi}"
    return text, proto, lo, hi


@st.composite
def rows(draw: st.DrawFn) -> dict[str, object]:
    src, slo, shi = draw(cells(GOV))
    dst, dlo, dhi = draw(cells(INTERNET))
    port, proto, plo, phi = draw(port_cells())
    return {
        "yaml": f"{{from: 政务外网区, source: {src}, to: 互联网区, target: {dst}, port: {port}}}",
        "src": (slo, shi),
        "dst": (dlo, dhi),
        "proto": proto,
        "ports": (plo, phi),
    }


windows = st.tuples(st.integers(0, 300), st.integers(0, 27)).map(
    lambda t: (BASE + timedelta(days=t[0]), BASE + timedelta(days=t[0] + t[1]))
)
instants = st.integers(0, 24 * 60 - 1)  # a minute of the day, local


def at(day: date, minute: int) -> datetime:
    return clock.start_of(day) + timedelta(minutes=minute)


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=rows(), window=windows, data=st.data())
def test_a_row_reaches_its_own_targets_inside_its_window_and_never_outside(
    row: dict, window: tuple[date, date], data: st.DataObject
) -> None:
    start, end = window
    index = index_of({"p.yaml": policy_yaml([row["yaml"]], start, end)})
    src = data.draw(st.integers(*row["src"]), "source host")
    dst = data.draw(st.integers(*row["dst"]), "target host")
    port = data.draw(st.integers(*row["ports"]), "port")
    service = Service(row["proto"], port)
    inside = at(
        start + timedelta(days=data.draw(st.integers(0, (end - start).days))), data.draw(instants)
    )
    assert index.reachable(src, dst, service, inside)
    before = clock.start_of(start) - timedelta(minutes=data.draw(st.integers(1, 10**6)))
    after = clock.start_of(end + timedelta(days=1)) + timedelta(
        minutes=data.draw(st.integers(0, 10**6))
    )
    assert not index.reachable(src, dst, service, before)
    assert not index.reachable(src, dst, service, after)
    # and the row says which of its states it is in at each instant
    (g,) = index.to(Endpoint("", ip=dst), service, Endpoint("", ip=src))
    assert (g.status(before), g.status(inside), g.status(after)) == (LATER, ACTIVE, CLOSED)
    # a port the row does not open, and the other protocol, are not reachable
    other = "udp" if row["proto"] == "tcp" else "tcp"
    assert not index.reachable(src, dst, Service(other, port), inside)
    assert not index.reachable(src, dst, Service(row["proto"], row["ports"][1] + 1), inside)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=rows(), others=st.lists(rows(), max_size=3), window=windows, data=st.data())
def test_a_shadowed_row_changes_nothing(
    base: dict, others: list[dict], window: tuple[date, date], data: st.DataObject
) -> None:
    start, end = window
    # the shadowed row: a sub-range of the base row's source, target and ports
    slo = data.draw(st.integers(*base["src"]))
    dlo = data.draw(st.integers(*base["dst"]))
    plo = data.draw(st.integers(*base["ports"]))
    phi = data.draw(st.integers(plo, base["ports"][1]))
    port_text = f"{base['proto'].upper()}{plo}-{phi}"
    shadow = (
        f"{{from: 政务外网区, source: {grammar.int_to_ip(slo)}, to: 互联网区, "
        f"target: {grammar.int_to_ip(dlo)}, port: {port_text}}}"
    )
    rows_yaml = [base["yaml"], *(o["yaml"] for o in others)]
    without = index_of({"p.yaml": policy_yaml(rows_yaml, start, end)})
    with_shadow = index_of({"p.yaml": policy_yaml([*rows_yaml, shadow], start, end)})
    # probes: in and around every row, at instants in and out of the window
    for _ in range(25):
        r = data.draw(st.sampled_from([base, *others]))
        src = data.draw(st.integers(r["src"][0] - 2, r["src"][1] + 2))
        dst = data.draw(st.integers(r["dst"][0] - 2, r["dst"][1] + 2))
        service = Service(
            data.draw(st.sampled_from(["tcp", "udp"])),
            data.draw(st.integers(r["ports"][0] - 2, r["ports"][1] + 2)),
        )
        when = at(
            start + timedelta(days=data.draw(st.integers(-3, (end - start).days + 3))),
            data.draw(instants),
        )
        assert without.reachable(src, dst, service, when) == with_shadow.reachable(
            src, dst, service, when
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(many=st.lists(rows(), min_size=1, max_size=6), window=windows, data=st.data())
def test_the_reverse_query_agrees_with_the_forward_one(
    many: list[dict], window: tuple[date, date], data: st.DataObject
) -> None:
    index = index_of({"p.yaml": policy_yaml([r["yaml"] for r in many], *window)})
    for _ in range(20):
        r = data.draw(st.sampled_from(many))
        src = data.draw(st.integers(r["src"][0] - 1, r["src"][1] + 1))
        dst = data.draw(st.integers(r["dst"][0] - 1, r["dst"][1] + 1))
        service = data.draw(st.sampled_from([Service(), Service(r["proto"], r["ports"][0])]))
        forward = {
            (g.form, g.row) for g in index.to(Endpoint("", ip=dst), service, Endpoint("", ip=src))
        }
        reverse = {
            (g.form, g.row)
            for g in index.from_(Endpoint("", ip=src), service)
            if index.covers(g.target, g.system, Endpoint("", ip=dst), {})
        }
        assert forward == reverse
        # and both agree with the rows as written
        expected = {
            ("WL-P-1", i + 1)
            for i, x in enumerate(many)
            if x["src"][0] <= src <= x["src"][1]
            and x["dst"][0] <= dst <= x["dst"][1]
            and (
                service.protocol is None
                or (
                    x["proto"] == service.protocol
                    and x["ports"][0] <= (service.port or 0) <= x["ports"][1]
                )
            )
        }
        assert forward == expected


# --------------------------------------------------------------------------- examples

EXAMPLE = Path(__file__).resolve().parents[2] / "policies"
NOW = "2027-01-15T10:00"


def test_any_source_means_the_zones_addresses() -> None:
    index = index_of(
        {
            "p.yaml": policy_yaml(
                [
                    "{from: 互联网公网, source: 0.0.0.0, to: 互联网区, target: 172.20.4.11, port: TCP443}"
                ],
                date(2027, 1, 1),
                date(2027, 1, 20),
            )
        }
    )
    when = clock.now_local(NOW)
    web = grammar.ip_to_int("172.20.4.11")
    assert index.reachable(grammar.ip_to_int("8.8.8.8"), web, Service("tcp", 443), when)
    # 0.0.0.0 from 互联网公网 is every public address, not a private one
    assert not index.reachable(grammar.ip_to_int("10.1.2.3"), web, Service("tcp", 443), when)
    (g,) = index.to(
        Endpoint("", ip=web), Service("tcp", 443), parse_endpoint("互联网公网", index.zone_refs)
    )
    assert g.row == 1


def test_unapproved_rows_are_listed_as_such_and_reach_nothing() -> None:
    text = policy_yaml(
        [
            "{from: 政务外网区, source: 172.21.4.21, to: 互联网区, target: 172.20.4.11, port: TCP8080}"
        ],
        date(2027, 1, 1),
        date(2027, 1, 20),
    ).replace("    cloud_resource_manager: {by: 钱七, date: 2026-01-01}\n", "")
    index = index_of({"p.yaml": text})
    (g,) = index.to(Endpoint("", ip=grammar.ip_to_int("172.20.4.11")))
    assert g.status(clock.now_local(NOW)) == UNAPPROVED and "审核人" in g.why_not
    assert not index.reachable(
        grammar.ip_to_int("172.21.4.21"),
        grammar.ip_to_int("172.20.4.11"),
        Service("tcp", 8080),
        clock.now_local(NOW),
    )


@pytest.mark.parametrize(
    "bad",
    [
        "1.2.3",
        "172.20.4.11:http",
        "172.20.4.11:70000",
        "172.20.4.0/24",
        "172.20.4.11:53/sctp",
        "0.0.0.0",
    ],
)
def test_a_bad_target_is_a_clear_error(bad: str) -> None:
    with pytest.raises(QueryError):
        parse_target(bad)


def test_target_grammar() -> None:
    assert parse_target("172.20.4.11:53/udp")[1] == Service("udp", 53)
    assert parse_target("172.20.4.11:443")[1] == Service("tcp", 443)
    assert parse_target("172.20.4.11:icmp")[1] == Service("icmp", None)
    assert parse_target("智慧城管-数据库")[0].placeholder == "智慧城管-数据库"


def run(*args: str, cache_dir: Path) -> object:
    return CliRunner().invoke(app, ["reach", *args], env={"CGCLOUD_CACHE_DIR": str(cache_dir)})


def test_cli_to_lists_rows_by_status_with_where_and_who(tmp_path: Path) -> None:
    r = run(
        str(EXAMPLE),
        "--to",
        "智慧城管-数据库:3306",
        "--at",
        "2027-03-01",
        "--format",
        "json",
        cache_dir=tmp_path,
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["format"] == "cgcloud-reach/v1"
    assert data["rows"]["active"] == []  # the high-risk window ended on 01-31
    (row,) = data["rows"]["closed"]
    assert (row["form"], row["row"], row["high_risk"], row["ports"]) == (
        "WL-2026-0031",
        10,
        True,
        "TCP3306",
    )
    assert row["file"].endswith("network-policy.yaml") and row["line"] > 1
    assert row["reviewers"]["cloud_resource_leader"] == "吴十"
    r = run(str(EXAMPLE), "--to", "智慧城管-数据库:3306", "--at", "2026-12-01", cache_dir=tmp_path)
    assert "尚未生效的行（1）" in r.stdout and "第10行" in r.stdout


def test_cli_from_alone_is_the_reverse_query(tmp_path: Path) -> None:
    r = run(
        str(EXAMPLE), "--from", "172.21.0.10", "--at", NOW, "--format", "json", cache_dir=tmp_path
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]["active"]
    assert [(x["row"], x["target"]) for x in rows] == [
        (8, "172.21.4.21-22"),
        (9, "智慧城管-数据库"),
    ]


def test_cli_exposed_counts_public_ips_and_lists_external_rows(tmp_path: Path) -> None:
    r = run(str(EXAMPLE), "--exposed", "--at", NOW, "--format", "json", cache_dir=tmp_path)
    assert r.exit_code == 0, r.output
    (system,) = json.loads(r.stdout)["exposed"]
    assert system["public_ips"] == {"needed": 2, "approved": 2}
    assert sorted(system["rows"]) == ["gov-backbone", "public"]
    md = run(str(EXAMPLE), "--exposed", "--at", NOW, "--format", "markdown", cache_dir=tmp_path)
    assert md.stdout.startswith("# ") and "公网 IP：需要 2 个，已批准 2" in md.stdout


@pytest.mark.parametrize(
    "args",
    [["--to", "1.2.3"], ["--at", "yesterday", "--to", "1.2.3.4"], [], ["--from", "no-such-zone!"]],
)
def test_cli_usage_errors_exit_64_without_a_traceback(tmp_path: Path, args: list[str]) -> None:
    r = run(str(EXAMPLE), *args, cache_dir=tmp_path)
    assert r.exit_code == 64, r.output
    assert "错误" in r.output and "Traceback" not in r.output


def test_cli_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    r = run(str(tmp_path / "nope"), "--to", "1.2.3.4", cache_dir=tmp_path)
    assert r.exit_code == 64 and "路径不存在" in r.output


def test_the_cache_follows_the_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    store = tmp_path / "cache"
    policy = repo / "智慧城管综合平台" / "network-policy.yaml"
    r = run(str(repo), "--to", "172.20.4.11:443", "--at", NOW, "--format", "json", cache_dir=store)
    assert len(json.loads(r.stdout)["rows"]["active"]) == 1
    assert len(list((store / "reach").glob("*.pickle"))) == 1
    # the same bytes: the entry is reused; one changed byte: a new entry, a new answer
    policy.write_text(
        policy.read_text("utf-8").replace(
            "port: TCP443, note: 市民访问门户", "port: TCP8443, note: 市民访问门户"
        ),
        "utf-8",
    )
    r = run(str(repo), "--to", "172.20.4.11:443", "--at", NOW, "--format", "json", cache_dir=store)
    assert json.loads(r.stdout)["rows"]["active"] == []
    assert len(list((store / "reach").glob("*.pickle"))) == 2
    # a damaged entry is rebuilt, not trusted
    for entry in (store / "reach").glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    r = run(str(repo), "--to", "172.20.4.11:8443", "--at", NOW, "--format", "json", cache_dir=store)
    assert r.exit_code == 0 and len(json.loads(r.stdout)["rows"]["active"]) == 1
    assert cache.key([repo]) != cache.key([EXAMPLE])


def test_unparsed_rows_are_reported_not_dropped(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    policy = repo / "智慧城管综合平台" / "network-policy.yaml"
    policy.write_text(
        policy.read_text("utf-8").replace("target: 10.19.8.0/24", "target: 10.19.8.1/24"), "utf-8"
    )
    r = run(
        str(repo),
        "--from",
        "172.21.4.21",
        "--at",
        NOW,
        "--format",
        "json",
        cache_dir=tmp_path / "c",
    )
    assert r.exit_code == 0
    skipped = json.loads(r.stdout)["skipped"]["unparsed_rows"]
    assert [(s["form"], s["row"]) for s in skipped] == [("WL-2026-0031", 6)]
    assert "未能读入" in r.stderr
