"""Address and port grammars of the network-policy form (附件2 注2).

Addresses are kept as merged integer ranges, so that containment and overlap
are cheap for 50,000 rows; CIDRs (the fewest, via netaddr) are derived only
when someone asks for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import netaddr

from cgcloud.i18n import _

MAX_IP = (1 << 32) - 1
LIST_SEPARATORS = re.compile(r"\s*[、,，]\s*")
_IP_RE = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$", re.ASCII)
_PLACEHOLDER_RE = re.compile(r"^[^\s,，、/:]+-[^\s,，、/:]+$")
_IP_LIKE = re.compile(r"^[\d.\-]+$", re.ASCII)
# an address with a typo ("10.1.1.1-1O") must be an error, not silently a placeholder
_IP_START = re.compile(r"^\d{1,3}\.\d{1,3}\.", re.ASCII)


class GrammarError(ValueError):
    """Text that is not an address or a port of the form's grammar (message in Chinese)."""


def _ascii_digits(text: str) -> bool:
    """Only 0-9: str.isdigit() also accepts '²' or '１', which int() then rejects or misreads."""
    return text.isascii() and text.isdigit()


# --------------------------------------------------------------------------- addresses


_OCTETS = {str(i): i for i in range(256)}


def _plain_ip(text: str) -> int | None:
    """Fast path: exactly four canonical octets ("0".."255", no leading zero), else None."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    o = _OCTETS
    try:
        return o[parts[0]] << 24 | o[parts[1]] << 16 | o[parts[2]] << 8 | o[parts[3]]
    except KeyError:
        return None


def ip_to_int(text: str) -> int:
    """Parse a dotted IPv4 address strictly (no leading zeros, each octet ≤ 255)."""
    fast = _plain_ip(text)
    if fast is not None:
        return fast
    m = _IP_RE.match(text)
    if not m:
        raise GrammarError(_("{text!r} 不是有效的 IPv4 地址").format(text=text))
    value = 0
    for part in m.groups():
        if len(part) > 1 and part[0] == "0":
            raise GrammarError(
                _("{text!r} 含有前导零的八位组 {part!r}，有歧义，请去掉前导零").format(
                    text=text, part=part
                )
            )
        octet = int(part)
        if octet > 255:
            raise GrammarError(
                _("{text!r} 的八位组 {octet} 超过 255").format(text=text, octet=octet)
            )
        value = (value << 8) | octet
    return value


def int_to_ip(value: int) -> str:
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


def merge_ranges(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort and merge overlapping or adjacent inclusive integer ranges."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def ranges_contain(outer: tuple[tuple[int, int], ...], inner: tuple[tuple[int, int], ...]) -> bool:
    """True when every range of ``inner`` lies inside the union ``outer`` (both merged)."""
    return all(any(olo <= lo and hi <= ohi for olo, ohi in outer) for lo, hi in inner)


def ranges_overlap(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False


def ranges_to_cidrs(ranges: tuple[tuple[int, int], ...]) -> list[str]:
    """The fewest CIDRs whose union is exactly the ranges (netaddr)."""
    cidrs: list[netaddr.IPNetwork] = []
    for lo, hi in ranges:
        cidrs.extend(netaddr.iprange_to_cidrs(netaddr.IPAddress(lo), netaddr.IPAddress(hi)))
    return [str(c) for c in netaddr.cidr_merge(cidrs)]


def parse_cidr(text: str) -> tuple[int, int]:
    """``a.b.c.d/n`` with no host bits set → inclusive integer range."""
    ip_text, _sep, prefix_text = text.partition("/")
    if not _ascii_digits(prefix_text) or not 0 <= int(prefix_text) <= 32:
        raise GrammarError(_("{text!r} 的前缀长度无效，应为 /0 到 /32").format(text=text))
    prefix = int(prefix_text)
    base = ip_to_int(ip_text)
    size = 1 << (32 - prefix)
    if base % size:
        network = int_to_ip(base - base % size)
        raise GrammarError(
            _("{text!r} 设置了主机位；网段应写作 {network}/{prefix}").format(
                text=text, network=network, prefix=prefix
            )
        )
    return base, base + size - 1


def _parse_range(text: str) -> tuple[int, int]:
    left, _sep, right = text.partition("-")
    lo = ip_to_int(left)
    if "." in right:
        hi = ip_to_int(right)
    else:
        if not _ascii_digits(right) or int(right) > 255 or (len(right) > 1 and right[0] == "0"):
            raise GrammarError(
                _("{text!r} 的范围终点 {right!r} 无效，应为 0-255 或完整 IPv4 地址").format(
                    text=text, right=right
                )
            )
        hi = (lo & ~255) | int(right)
    if hi < lo:
        raise GrammarError(_("{text!r} 的范围终点小于起点").format(text=text))
    return lo, hi


@dataclass(slots=True, unsafe_hash=True)  # treated as immutable; not frozen: 3x faster to build
class Address:
    """One address cell of a rule: any, a placeholder, or a set of IPv4 ranges."""

    text: str
    ranges: tuple[tuple[int, int], ...] = ()
    any: bool = False
    placeholder: str | None = None

    @property
    def cidrs(self) -> list[str]:
        if self.any:
            return ["0.0.0.0/0"]
        return ranges_to_cidrs(self.ranges)

    @property
    def size(self) -> int:
        return 1 << 32 if self.any else sum(hi - lo + 1 for lo, hi in self.ranges)

    def covers(self, other: Address) -> bool:
        if self.any:
            return True
        if other.any:
            return False
        if self.placeholder or other.placeholder:
            return self.placeholder == other.placeholder
        return ranges_contain(self.ranges, other.ranges)

    def host_keys(self) -> list[str]:
        """Distinct hosts this cell names: each address, or the placeholder (for counting)."""
        if self.placeholder:
            return [self.placeholder]
        if self.any:
            return ["0.0.0.0"]
        return [int_to_ip(v) for lo, hi in self.ranges for v in range(lo, min(hi, lo + 65535) + 1)]


@lru_cache(maxsize=65536)
def parse_address(text: str) -> Address:
    """Parse the address grammar: single, list (、,，), last-octet or full range, CIDR,
    ``0.0.0.0`` (any) or a placeholder ``系统名称-用途``."""
    raw = text.strip()
    if not raw:
        raise GrammarError(_("地址为空"))
    if raw == "0.0.0.0":
        return Address(text=text, any=True)
    single = _plain_ip(raw)  # the commonest cell: one address
    if single is not None:
        return Address(text=text, ranges=((single, single),))
    if _PLACEHOLDER_RE.match(raw) and not _IP_LIKE.match(raw) and not _IP_START.match(raw):
        return Address(text=text, placeholder=raw)
    ranges: list[tuple[int, int]] = []
    for item in LIST_SEPARATORS.split(raw):
        if not item:
            raise GrammarError(_("地址列表 {raw!r} 中有空项").format(raw=raw))
        if item == "0.0.0.0":
            raise GrammarError(_("0.0.0.0 表示不限制地址，只能单独使用，不能出现在列表中"))
        if "/" in item:
            ranges.append(parse_cidr(item))
        elif "-" in item:
            if not _IP_LIKE.match(item) and _IP_START.match(item):
                raise GrammarError(
                    _(
                        "地址范围 {item!r} 无效，应写作 58.33.33.33-40 或 58.33.33.33-58.33.33.40"
                    ).format(item=item)
                )
            if not _IP_LIKE.match(item):
                raise GrammarError(_("占位符 {item!r} 不能与地址混写在列表中").format(item=item))
            ranges.append(_parse_range(item))
        else:
            value = ip_to_int(item)
            ranges.append((value, value))
    return Address(text=text, ranges=merge_ranges(ranges))


def is_public(lo: int, hi: int) -> bool:
    """True when no address of the range is private (RFC 1918), loopback, link-local,
    CGNAT, multicast/reserved, or 0.0.0.0/8."""
    return all(not (lo <= net_hi and net_lo <= hi) for net_lo, net_hi in _NON_PUBLIC)


_NON_PUBLIC = [
    parse_cidr(c)
    for c in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/3",
    )
]


# --------------------------------------------------------------------------- ports

_PORT_ITEM = re.compile(
    r"^(?:(tcp|udp|icmp)\s*)?([0-9]{1,5})?(?:\s*-\s*([0-9]{1,5}))?$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class PortEntry:
    """One protocol with an inclusive port range (ICMP: 0-65535, i.e. all of it)."""

    protocol: str
    low: int
    high: int

    def intersects(self, other: PortEntry) -> bool:
        return self.protocol == other.protocol and self.low <= other.high and other.low <= self.high

    def covers(self, other: PortEntry) -> bool:
        return self.protocol == other.protocol and self.low <= other.low and other.high <= self.high

    def __str__(self) -> str:
        if self.protocol == "icmp":
            return "ICMP"
        span = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
        return f"{self.protocol.upper()}{span}"


@dataclass(frozen=True, slots=True)
class Ports:
    """A port cell: ``/`` (any protocol, any port) or protocol/port entries."""

    text: str
    entries: tuple[PortEntry, ...] = ()
    any: bool = False

    def intersects(self, other: Ports) -> bool:
        if self.any or other.any:
            return True
        return any(a.intersects(b) for a in self.entries for b in other.entries)

    def covers(self, other: Ports) -> bool:
        if self.any:
            return True
        if other.any:
            return False
        return all(any(a.covers(b) for a in self.entries) for b in other.entries)

    def opens(self, protocol: str, port: int) -> bool:
        return self.any or any(
            e.protocol == protocol and e.low <= port <= e.high for e in self.entries
        )

    def __str__(self) -> str:
        return "/" if self.any else ",".join(str(e) for e in self.entries)


@lru_cache(maxsize=16384)
def parse_ports(text: str) -> Ports:
    """Parse the port grammar: ``/``, ``TCP9999``, ``TCP 22``, ``UDP53``,
    ``TCP80,443``, ``TCP8000-8080``, ``ICMP`` (case-insensitive); a list item
    without a protocol inherits the previous item's protocol."""
    raw = text.strip()
    if raw == "/":
        return Ports(text=text, any=True)
    if not raw:
        raise GrammarError(_("端口为空；不限制端口请写 /"))
    entries: list[PortEntry] = []
    protocol: str | None = None
    for item in LIST_SEPARATORS.split(raw):
        m = _PORT_ITEM.match(item)
        if not item or not m:
            raise GrammarError(
                _(
                    "端口 {item!r} 无法识别；应写作 TCP9999、UDP53、TCP80,443、TCP8000-8080、ICMP 或 /"
                ).format(item=item)
            )
        proto_text, low_text, high_text = m.groups()
        if proto_text:
            protocol = proto_text.lower()
        if protocol is None:
            raise GrammarError(
                _("端口 {item!r} 缺少协议；应写作 TCP{item} 或 UDP{item}").format(item=item)
            )
        if protocol == "icmp":
            if low_text or high_text:
                raise GrammarError(_("ICMP 没有端口号，请只写 ICMP"))
            entries.append(PortEntry("icmp", 0, 65535))
            continue
        if low_text is None:
            raise GrammarError(_("端口 {item!r} 缺少端口号").format(item=item))
        low = int(low_text)
        high = int(high_text) if high_text else low
        if not 1 <= low <= 65535 or not 1 <= high <= 65535:
            raise GrammarError(_("端口 {item!r} 超出 1-65535").format(item=item))
        if high < low:
            raise GrammarError(_("端口范围 {item!r} 的终点小于起点").format(item=item))
        entries.append(PortEntry(protocol, low, high))
    return Ports(text=text, entries=_merge_ports(entries))


def _merge_ports(entries: list[PortEntry]) -> tuple[PortEntry, ...]:
    out: list[PortEntry] = []
    for e in sorted(entries, key=lambda e: (e.protocol, e.low, e.high)):
        if out and out[-1].protocol == e.protocol and e.low <= out[-1].high + 1:
            if e.high > out[-1].high:
                out[-1] = PortEntry(e.protocol, out[-1].low, e.high)
        else:
            out.append(e)
    return tuple(out)
