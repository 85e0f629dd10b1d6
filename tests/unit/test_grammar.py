"""Property-based tests of the address and port grammars (附件2 注2)."""

from __future__ import annotations

import re

import netaddr
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cgcloud import grammar
from cgcloud.grammar import GrammarError, parse_address, parse_ports

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ips = st.integers(min_value=0, max_value=grammar.MAX_IP)
# keep ranges small enough that IPSet comparisons stay fast, but let them cross
# octet and CIDR boundaries
spans = st.integers(min_value=0, max_value=70_000)
ip = grammar.int_to_ip


def ipset_of(address: grammar.Address) -> netaddr.IPSet:
    return netaddr.IPSet(address.cidrs)


@st.composite
def ip_ranges(draw):
    lo = draw(ips)
    hi = min(grammar.MAX_IP, lo + draw(spans))
    return lo, hi


@st.composite
def cidrs(draw):
    prefix = draw(st.integers(min_value=8, max_value=32))
    base = draw(ips) & ~((1 << (32 - prefix)) - 1) & grammar.MAX_IP
    return f"{ip(base)}/{prefix}", base, base + (1 << (32 - prefix)) - 1


@st.composite
def items(draw):
    """One list item (text) with the inclusive range it means."""
    kind = draw(st.sampled_from(["single", "full", "octet", "cidr"]))
    if kind == "single":
        v = draw(ips.filter(bool))  # a lone 0.0.0.0 means "any", not one address
        return ip(v), v, v
    if kind == "full":
        lo, hi = draw(ip_ranges())
        return f"{ip(lo)}-{ip(hi)}", lo, hi
    if kind == "octet":
        lo = draw(ips)
        last = draw(st.integers(min_value=lo & 255, max_value=255))
        return f"{ip(lo)}-{last}", lo, (lo & ~255) | last
    return draw(cidrs())


separators = st.sampled_from(["、", ",", "，", " , ", "、 "])


def ipset_range(lo: int, hi: int) -> netaddr.IPSet:
    return netaddr.IPSet(netaddr.IPRange(ip(lo), ip(hi)))


# --------------------------------------------------------------------------- addresses


@given(ip_ranges())
def test_full_range_is_exactly_its_cidrs(r):
    lo, hi = r
    a = parse_address(f"{ip(lo)}-{ip(hi)}")
    assert ipset_of(a) == ipset_range(lo, hi)
    assert a.size == hi - lo + 1
    # the fewest CIDRs: what netaddr.cidr_merge makes of the range
    assert a.cidrs == [str(c) for c in netaddr.cidr_merge(netaddr.IPRange(ip(lo), ip(hi)).cidrs())]


@given(ips, st.data())
def test_last_octet_range(lo, data):
    last = data.draw(st.integers(min_value=lo & 255, max_value=255))
    a = parse_address(f"{ip(lo)}-{last}")
    assert ipset_of(a) == ipset_range(lo, (lo & ~255) | last)


@given(st.lists(items(), min_size=1, max_size=6), st.data())
def test_list_union_is_exact_and_fewest(parts, data):
    text = parts[0][0]
    for part in parts[1:]:
        text += data.draw(separators) + part[0]
    a = parse_address(text)
    expected = netaddr.IPSet()
    for _, lo, hi in parts:
        expected |= ipset_range(lo, hi)
    assert ipset_of(a) == expected
    assert a.cidrs == [str(c) for c in expected.iter_cidrs()]
    assert a.cidrs == [str(c) for c in netaddr.cidr_merge(list(expected.iter_cidrs()))]
    assert a.size == expected.size
    assert not a.any and a.placeholder is None


@given(cidrs())
def test_cidr_round_trips(c):
    text, lo, hi = c
    a = parse_address(text)
    assert a.ranges == ((lo, hi),)
    assert a.cidrs == [text]


@given(cidrs(), st.integers(min_value=1, max_value=(1 << 24) - 1))
def test_cidr_with_host_bits_is_an_error(c, offset):
    text, lo, hi = c
    assume(hi > lo)
    prefix = text.split("/")[1]
    bad = f"{ip(lo + 1 + offset % (hi - lo))}/{prefix}"
    with pytest.raises(GrammarError) as exc:
        parse_address(bad)
    assert CHINESE.search(str(exc.value))
    assert f"{ip(lo)}/{prefix}" in str(exc.value)  # the message says how to write it


@given(ips, ips)
def test_range_end_below_start_is_an_error(a, b):
    assume(a != b)
    lo, hi = max(a, b), min(a, b)
    with pytest.raises(GrammarError):
        parse_address(f"{ip(lo)}-{ip(hi)}")


@given(ips, ips)
def test_covers_matches_sets(a, b):
    x = parse_address(f"{ip(min(a, b))}-{ip(min(max(a, b), min(a, b) + 1000))}")
    y = parse_address(ip(a))
    assert x.covers(y) == (ipset_of(y) <= ipset_of(x))


def test_any_and_placeholder():
    a = parse_address("0.0.0.0")
    assert a.any and a.cidrs == ["0.0.0.0/0"] and a.size == 1 << 32
    p = parse_address("智慧城管-数据库")
    assert p.placeholder == "智慧城管-数据库" and p.host_keys() == ["智慧城管-数据库"]
    assert parse_address("58.33.33.33-40").cidrs == [
        "58.33.33.33/32",
        "58.33.33.34/31",
        "58.33.33.36/30",
        "58.33.33.40/32",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3.4/33",
        "1.2.3.4/",
        "1.2.3.4/x",
        "10.10.10.1/24",
        "1.2.3.9-3",
        "1.2.3.4-256",
        "1.2.3.4-",
        "1.2.3.4、",
        "、1.2.3.4",
        "1.2.3.4、0.0.0.0",
        "1.2.3.4、智慧城管-数据库",
        "1.2.3.4-1.2.3.5-1.2.3.6",
        "abc",
        "1.2.3.4 5.6.7.8",
        "::1",
        "1.2.3.4/24/8",
        "１.２.３.４",
        "1.2.3.0/²",
        "1.2.3.4-²",
        "10.1.1.1-1O",
        "1.2.3.4、1.2.3.5-x",
    ],
)
def test_invalid_addresses_raise_grammar_error_in_chinese(text):
    with pytest.raises(GrammarError) as exc:
        parse_address(text)
    assert CHINESE.search(str(exc.value)), str(exc.value)


@settings(max_examples=400)
@given(st.text(alphabet=st.sampled_from(list("0123456789./-、,，: abcx智城-\t")), max_size=30))
def test_address_never_raises_anything_else(text):
    try:
        a = parse_address(text)
    except GrammarError as exc:
        assert CHINESE.search(str(exc))
        return
    if a.any or a.placeholder:
        return
    assert a.ranges and a.cidrs  # every accepted address means at least one address


@given(st.text(max_size=40))
def test_address_arbitrary_text_never_raises_anything_else(text):
    try:
        parse_address(text)
    except GrammarError as exc:
        assert CHINESE.search(str(exc))


# --------------------------------------------------------------------------- ports

protocols = st.sampled_from(["tcp", "udp"])
port_numbers = st.integers(min_value=1, max_value=65535)


@st.composite
def port_entries(draw: st.DrawFn) -> tuple[str, int, int]:
    proto = draw(protocols)
    low = draw(port_numbers)
    high = draw(st.integers(min_value=low, max_value=65535))
    return proto, low, high


def spell(proto: str, low: int, high: int, case: str, space: str) -> str:
    name = proto.upper() if case == "upper" else proto.lower() if case == "lower" else proto.title()
    return f"{name}{space}{low}" + ("" if low == high else f"-{high}")


@given(st.lists(port_entries(), min_size=1, max_size=5), st.data())
def test_ports_round_trip(entries, data):
    text = ",".join(
        spell(
            p,
            lo,
            hi,
            data.draw(st.sampled_from(["upper", "lower", "title"])),
            data.draw(st.sampled_from(["", " "])),
        )
        for p, lo, hi in entries
    )
    ports = parse_ports(text)
    # the canonical text parses back to the same ports
    assert parse_ports(str(ports)).entries == ports.entries
    # every port of every entry is open, and nothing else of those protocols
    for p, lo, hi in entries:
        assert ports.opens(p, lo) and ports.opens(p, hi)
    opened = {(e.protocol, n) for e in ports.entries for n in (e.low, e.high)}
    for proto, n in opened:
        assert any(p == proto and lo <= n <= hi for p, lo, hi in entries)
    probe = data.draw(port_numbers)
    for proto in ("tcp", "udp"):
        assert ports.opens(proto, probe) == any(
            p == proto and lo <= probe <= hi for p, lo, hi in entries
        )
    assert not ports.opens("icmp", 0)


@given(port_entries(), port_entries())
def test_ports_intersects_and_covers_match_sets(
    a: tuple[str, int, int], b: tuple[str, int, int]
) -> None:
    pa = parse_ports(spell(*a, "upper", ""))
    pb = parse_ports(spell(*b, "upper", ""))
    assert pa.intersects(pb) == (a[0] == b[0] and a[1] <= b[2] and b[1] <= a[2])
    assert pa.covers(pb) == (a[0] == b[0] and a[1] <= b[1] and b[2] <= a[2])


def test_port_examples_from_the_spec():
    assert parse_ports("/").any
    assert str(parse_ports("TCP9999")) == "TCP9999"
    assert str(parse_ports("UDP53")) == "UDP53"
    assert str(parse_ports("TCP80,443")) == "TCP80,TCP443"
    assert str(parse_ports("TCP8000-8080")) == "TCP8000-8080"
    assert str(parse_ports("TCP 22")) == "TCP22" == str(parse_ports("tcp22"))
    assert str(parse_ports("ICMP")) == "ICMP"
    assert str(parse_ports("UDP500,4500")) == "UDP500,UDP4500"
    assert parse_ports("/").intersects(parse_ports("UDP53"))
    assert not parse_ports("UDP3306").intersects(parse_ports("TCP3306"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "22",
        "TCP",
        "TCP0",
        "TCP65536",
        "TCP70000",
        "TCP22-21",
        "TCP22-",
        "ICMP8",
        "SSH",
        "TCP22,",
        ",TCP22",
        "TCP22,,23",
        "HTTP80",
        "TCP-22",
        "TCP 22 23",
        "//",
        "TCP１",
    ],
)
def test_invalid_ports_raise_grammar_error_in_chinese(text):
    with pytest.raises(GrammarError) as exc:
        parse_ports(text)
    assert CHINESE.search(str(exc.value)), str(exc.value)


@settings(max_examples=400)
@given(st.text(alphabet=st.sampled_from(list("TCPUDIMtcpudim0123456789-,，、/ ")), max_size=20))
def test_ports_never_raise_anything_else(text):
    try:
        ports = parse_ports(text)
    except GrammarError as exc:
        assert CHINESE.search(str(exc))
        return
    assert ports.any or ports.entries


@given(st.text(max_size=30))
def test_ports_arbitrary_text_never_raises_anything_else(text):
    try:
        parse_ports(text)
    except GrammarError as exc:
        assert CHINESE.search(str(exc))
