"""Write a synthetic, valid policy repository for benchmarks.

    python benchmarks/generate.py OUT --rows 50000 [--systems N] [--seed 1]

One system per ~250 rows (``--systems`` to choose). Each system gets, in
``OUT/<系统名>/``: a NetworkPolicy (one form with all its rows), an approved
ResourceApplication; every tenth system a ProjectApplication bundling both, every
fiftieth a ShutdownNotice. ``OUT/plans.yaml`` holds one AnnualPlan per department
that the approved applications fit. ``OUT/zones.yaml`` and
``OUT/high-risk-ports.yaml`` are copies of the shipped defaults in ``policies/``;
addresses are drawn from those zones' pools.

The rows are a realistic mix: single addresses, lists (、 , ，), last-octet and
full ranges, CIDRs; ports single, lists, ranges, ICMP and ``/`` (egress only);
about 8 % high-risk rows (ports from the HighRiskPorts list, sources no wider
than /24, three distinct reviewers dated before the one-month window) and 2 %
SSH/RDP rows from the bastion hosts. Every row of a system has its own target
hosts, so no row shadows another; the repository is meant to validate without
errors (``cgcloud validate OUT --now 2026-12-10``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
NOW = "2026-12-10T10:00:00+08:00"  # every window below is active then
ROWS_PER_SYSTEM = 250

DEPARTMENTS = [
    "市政设施处",
    "市容环卫处",
    "城管执法处",
    "园林绿化处",
    "数字城管中心",
    "科技处",
    "办公室",
    "规划处",
]
SYSTEM_PREFIXES = [
    "数字城管",
    "智慧环卫",
    "城管执法",
    "园林监管",
    "市政设施",
    "户外广告",
    "渣土监管",
    "停车管理",
]
NORMAL_PORTS = [
    "TCP443", "TCP80", "TCP8080", "TCP8443", "TCP80,443", "TCP 8888", "tcp9000-9100",
    "UDP514", "TCP30000-30100", "ICMP", "TCP6033", "TCP80，8080", "udp4500、500",
]  # fmt: skip
HIGH_RISK_PORTS = [
    "TCP3306",
    "TCP6379",
    "TCP1521",
    "TCP5432",
    "TCP27017",
    "TCP9200",
    "UDP161",
    "TCP445",
]
BASTION_PORTS = ["TCP22", "TCP3389", "TCP 22"]
NOTES = ["业务访问", "接口调用", "数据同步", "运维管理", "", "日志采集", "前端访问后端", "监控探针"]


def _zone_pools() -> dict[str, str]:
    """zone name → first CIDR of its pool, read from the shipped default Zones (policies/zones.yaml)."""
    text = (POLICIES / "zones.yaml").read_text(encoding="utf-8")
    pools: dict[str, str] = {}
    for m in re.finditer(
        r"\{id: ([\w-]+), name: (\S+), internal: \w+(?:, cidrs: \[([^\]]*)\])?\}", text
    ):
        pools[m.group(2)] = (m.group(3) or "").split(",")[0].strip()
    return pools


def _ip(value: int) -> str:
    return ".".join(str((value >> sh) & 255) for sh in (24, 16, 8, 0))


def _int(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


@dataclass
class Block:
    """A contiguous run of addresses of one internal zone that belongs to one system."""

    start: int
    size: int
    used: int = 0

    @property
    def reserved(self) -> int:
        """The last addresses of the block: egress source, public targets (never targets of others)."""
        return self.start + self.size - 4

    def take(self, rng: random.Random) -> str:
        """A target no other row of the system uses: single, last-octet range, list or /30."""
        while (self.start + self.used) & 255 in (0, 255):  # no network/broadcast-looking hosts
            self.used += 1
        n = self.start + self.used
        shape = rng.random()
        if shape < 0.70:
            k, text = 1, _ip(n)
        elif shape < 0.85:
            k = rng.randint(2, 4)
            text = f"{_ip(n)}-{(n + k - 1) & 255}" if (n & 255) + k - 1 < 255 else _ip(n)
            k = k if "-" in text else 1
        elif shape < 0.95:
            k, text = 2, f"{_ip(n)}{rng.choice(['、', ',', '，'])}{_ip(n + 1)}"
        else:
            base = (n + 3) // 4 * 4
            k, text = base + 4 - n, f"{_ip(base)}/30"
        self.used += k
        if self.start + self.used > self.reserved:
            raise SystemExit("某个系统的行数过多，地址块用尽：请增加 --systems")
        return text

    def source(self, rng: random.Random, narrow: bool = False) -> str:
        """A source inside the block: single, list, last-octet range, full range or CIDR."""
        lo = self.start + rng.randint(0, max(0, self.size - 64))
        o = lo & 255
        span = min(50, 254 - o) if o < 254 else 0
        r = rng.random()
        if r < 0.45 or span < 2:
            return _ip(lo)
        if r < 0.60:
            return f"{_ip(lo)}、{_ip(lo + rng.randint(1, span))}"
        if r < 0.75:
            return f"{_ip(lo)}-{o + rng.randint(1, span)}"
        if r < 0.82:
            return f"{_ip(lo)}-{_ip(lo + rng.randint(1, span))}"
        if narrow:
            return f"{_ip(lo // 32 * 32)}/27"
        return rng.choice([f"{_ip(lo // 256 * 256)}/24", f"{_ip(lo // 64 * 64)}/26"])


@dataclass
class System:
    index: int
    name: str
    department: str
    inet: Block  # this system's addresses in 互联网区
    gov: Block  # … and in 政务外网区
    ext_counter: int = 0
    public_targets: set[str] = field(default_factory=set)
    hosts: list[str] = field(default_factory=list)

    def take(self, zone: str, rng: random.Random) -> str:
        text = (self.inet if zone == "inet" else self.gov).take(rng)
        self.hosts.append(text)
        return text


def _q(value: str) -> str:
    """A flow-mapping value: plain when YAML allows it, else double-quoted."""
    if re.search(r"[,\[\]{}:#&*!|>'\"%@`]", value) or value != value.strip() or not value:
        return json.dumps(value, ensure_ascii=False)
    return value


def _row(frm: str, src: str, to: str, tgt: str, port: str, note: str) -> str:
    cells = [
        f"from: {frm}",
        f"source: {_q(src)}",
        f"to: {to}",
        f"target: {_q(tgt)}",
        f"port: {_q(port)}",
    ]
    if note:
        cells.append(f"note: {_q(note)}")
    return "    - {" + ", ".join(cells) + "}"


def _rows(s: System, count: int, rng: random.Random) -> list[str]:
    rows: list[str] = []
    i = s.index
    backbone = f"10.{19 + i % 200}.{rng.randint(0, 255)}"
    rows.append(
        _row("互联网区", _ip(s.inet.reserved), "互联网公网", "0.0.0.0", "/", "互联网区服务器上网")
    )
    rows.append(
        _row("政务外网区", _ip(s.gov.reserved), "政务外网骨干网", "0.0.0.0", "/", "访问政务外网")
    )
    k = 0
    while len(rows) < count:
        k += 1
        r = rng.random()
        note = rng.choice(NOTES)
        if r < 0.18:  # internet → gov
            rows.append(
                _row(
                    "互联网区",
                    s.inet.source(rng),
                    "政务外网区",
                    s.take("gov", rng),
                    rng.choice(NORMAL_PORTS),
                    note,
                )
            )
        elif r < 0.30:  # gov → internet
            rows.append(
                _row(
                    "政务外网区",
                    s.gov.source(rng),
                    "互联网区",
                    s.take("inet", rng),
                    rng.choice(NORMAL_PORTS),
                    note,
                )
            )
        elif r < 0.45:  # same zone
            if rng.random() < 0.5:
                rows.append(
                    _row(
                        "政务外网区",
                        s.gov.source(rng),
                        "政务外网区",
                        s.take("gov", rng),
                        rng.choice(NORMAL_PORTS),
                        note,
                    )
                )
            else:
                rows.append(
                    _row(
                        "互联网区",
                        s.inet.source(rng),
                        "互联网区",
                        s.take("inet", rng),
                        rng.choice(NORMAL_PORTS),
                        note,
                    )
                )
        elif r < 0.60:  # gov backbone → gov
            src = rng.choice(
                [
                    f"{backbone}.0/24",
                    f"10.{19 + i % 200}.0.0/16",
                    f"{backbone}.{rng.randint(1, 250)}",
                ]
            )
            rows.append(
                _row(
                    "政务外网骨干网",
                    src,
                    "政务外网区",
                    s.take("gov", rng),
                    rng.choice(NORMAL_PORTS),
                    "区县单位访问",
                )
            )
        elif r < 0.65:  # leased line → internal
            to, zone = rng.choice([("政务外网区", "gov"), ("互联网区", "inet")])
            src = rng.choice(
                ["192.168.100.0/24", f"192.168.101.{rng.randint(1, 250)}", "192.168.102.16/28"]
            )
            rows.append(
                _row("专线网络", src, to, s.take(zone, rng), rng.choice(NORMAL_PORTS), "专线访问")
            )
        elif r < 0.70:  # public → internet: counts against public_ip (two hosts per system)
            tgt = _ip(s.inet.reserved + 1 + k % 2)
            s.public_targets.add(tgt)
            src = rng.choice(
                ["0.0.0.0", f"58.{30 + i % 200}.{k % 250}.0/24", f"221.{i % 250}.3.{k % 250 + 1}"]
            )
            rows.append(_row("互联网公网", src, "互联网区", tgt, f"TCP{20000 + k}", "公众访问"))
        elif r < 0.80:  # internal → external, unique targets
            s.ext_counter += 1
            n = s.ext_counter
            if rng.random() < 0.5:
                tgt = f"10.{19 + i % 200}.{200 + n // 250}.{n % 250 + 1}"
                rows.append(
                    _row(
                        "政务外网区",
                        s.gov.source(rng),
                        "政务外网骨干网",
                        tgt,
                        rng.choice(NORMAL_PORTS),
                        "调用共享平台",
                    )
                )
            else:
                tgt = f"59.{40 + i % 200}.{n // 250}.{n % 250 + 1}"
                rows.append(
                    _row(
                        "互联网区",
                        s.inet.source(rng),
                        "互联网公网",
                        tgt,
                        rng.choice(NORMAL_PORTS),
                        "调用外部接口",
                    )
                )
        elif r < 0.98:  # high-risk: database and management ports, narrow sources
            if rng.random() < 0.7:
                frm, base, to, zone = rng.choice(
                    [
                        ("政务外网区", s.gov, "政务外网区", "gov"),
                        ("互联网区", s.inet, "政务外网区", "gov"),
                        ("政务外网区", s.gov, "互联网区", "inet"),
                    ]
                )
                src = base.source(rng, narrow=True)
            else:
                frm, to, zone = "政务外网骨干网", "政务外网区", "gov"
                src = f"{backbone}.{rng.randint(1, 200)}"
            rows.append(
                _row(frm, src, to, s.take(zone, rng), rng.choice(HIGH_RISK_PORTS), "数据迁移")
            )
        else:  # SSH/RDP, from the bastion hosts only (第十九条)
            frm, bastion = rng.choice([("互联网区", "172.20.0.10"), ("政务外网区", "172.21.0.10")])
            to, zone = rng.choice([("互联网区", "inet"), ("政务外网区", "gov")])
            rows.append(
                _row(frm, bastion, to, s.take(zone, rng), rng.choice(BASTION_PORTS), "堡垒机运维")
            )
    return rows[:count]


def _policy(s: System, rows: list[str]) -> str:
    return "\n".join(
        [
            "# yaml-language-server: $schema=../../schemas/network-policy.schema.json",
            "apiVersion: cgcloud/v1",
            "kind: NetworkPolicy",
            f"metadata: {{id: WL-2026-{s.index:04d}, system: {s.name}}}",
            "spec:",
            f'  applicant: {{org: 某某科技有限公司, name: 周九, phone: "1390000{s.index:04d}"}}',
            "  normal:",
            f"    reason: {s.name}对外提供服务及内部访问",
            "    period: {start: 2026-12-01, end: 2027-11-30}",
            "  high_risk:",
            "    reason: 数据迁移期间临时开放数据库和运维端口",
            "    period: {start: 2026-12-01, end: 2026-12-31}",
            "  reviewers:",
            "    cloud_resource_manager: {by: 钱七, date: 2026-11-20}",
            "    business_leader:        {by: 王五, date: 2026-11-21}",
            "    cloud_resource_leader:  {by: 吴十, date: 2026-11-22}",
            "  rules:",
            *rows,
            "",
        ]
    )


SERVER = {"vcpu": 8, "memory_gb": 16, "system_disk_gb": 100, "count": 4}
VOLUME_GB = 2000


def _application(s: System) -> tuple[str, int]:
    public_ip = max(1, len(s.public_targets))
    return (
        f"""apiVersion: cgcloud/v1
kind: ResourceApplication
metadata: {{id: ZY-2026-{s.index:04d}, system: {s.name}, department: {s.department}}}
spec:
  type: new
  year: 2026
  contact: {{name: 张三, phone: "027-8555{s.index:04d}"}}
  reason: 因{s.name}建设，需要申请计算、存储和公网地址资源。
  resources:
    - {{type: server, vcpu: {SERVER["vcpu"]}, memory_gb: {SERVER["memory_gb"]}, system_disk_gb: {SERVER["system_disk_gb"]}, count: {SERVER["count"]}}}
    - {{type: volume, tier: standard, size_gb: {VOLUME_GB}}}
    - {{type: public_ip, count: {public_ip}}}
    - {{type: security_service, product: 主机安全防护, count: {SERVER["count"]}}}
  operators: [{{name: 李四, phone: "13800000000"}}]
  approvals:
    department: {{by: 赵六, date: 2026-11-10, opinion: 同意}}
    initial:    {{by: 王五, date: 2026-11-11, opinion: 同意}}
    recheck:    {{by: 钱七, date: 2026-11-12, recommend: formal}}
    final:      {{by: 孙八, date: 2026-11-13, decision: formal}}
""",
        public_ip,
    )


def _project(s: System) -> str:
    return f"""apiVersion: cgcloud/v1
kind: ProjectApplication
metadata: {{id: KT-2026-{s.index:04d}, project: {s.name}二期}}
spec:
  forms: [ZY-2026-{s.index:04d}, WL-2026-{s.index:04d}]
  accounts:
    - {{name: 李四, type: bastion}}
    - {{name: 李四, type: sslvpn}}
  signoffs:
    integrator:      {{by: 某某集成公司, date: 2026-11-23}}
    supervisor:      {{by: 某某监理公司, date: 2026-11-23}}
    project_manager: {{by: 某某项目管理公司, date: 2026-11-24}}
    cloud_provider:  {{by: 武汉云, date: 2026-11-24}}
"""


def _shutdown(s: System) -> str:
    hosts = ", ".join(h for h in s.hosts if re.fullmatch(r"[\d.]+", h))
    hosts = ", ".join(hosts.split(", ")[:2])
    return f"""apiVersion: cgcloud/v1
kind: ShutdownNotice
metadata: {{id: GT-2026-{s.index:04d}, system: {s.name}}}
spec:
  hosts: [{hosts}]
  tech_division:     {{by: 钱七, date: 2026-11-18}}
  business_division: {{by: 王五, date: 2026-11-19, shutdown_date: 2027-01-15, prepare_by: 2027-01-14}}
  operator:          {{by: 李四, date: 2026-11-24, data_copied: true}}
"""


def generate(out: Path, rows: int, systems: int | None = None, seed: int = 1) -> dict[str, int]:
    """Write the repository into ``out`` (emptied first); returns what was written."""
    rng = random.Random(seed)
    n_systems = systems or max(1, -(-rows // ROWS_PER_SYSTEM))
    if n_systems > 1000:
        raise SystemExit("最多 1000 个系统")
    pools = _zone_pools()
    # each system owns a contiguous run of each internal pool (after its first /24: bastions)
    inet_net, gov_net = pools["互联网区"].split("/")[0], pools["政务外网区"].split("/")[0]
    chunk = min(1024, (65536 - 256) // n_systems)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("zones.yaml", "high-risk-ports.yaml"):
        shutil.copy(POLICIES / name, out / name)
    per_dept: dict[str, int] = {}
    dept_public: dict[str, int] = {}
    written = {"systems": n_systems, "rows": 0, "files": 2}
    for i in range(n_systems):
        s = System(
            index=i + 1,
            name=f"{SYSTEM_PREFIXES[i % len(SYSTEM_PREFIXES)]}系统{i + 1:03d}",
            department=DEPARTMENTS[i % len(DEPARTMENTS)],
            inet=Block(_int(inet_net) + 256 + i * chunk, chunk),
            gov=Block(_int(gov_net) + 256 + i * chunk, chunk),
        )
        count = rows // n_systems + (1 if i < rows % n_systems else 0)
        body = _rows(s, count, rng)
        d = out / s.name
        d.mkdir()
        (d / "network-policy.yaml").write_text(_policy(s, body), encoding="utf-8")
        app, public_ip = _application(s)
        (d / "resource-application.yaml").write_text(app, encoding="utf-8")
        written["rows"] += len(body)
        written["files"] += 2
        per_dept[s.department] = per_dept.get(s.department, 0) + 1
        dept_public[s.department] = dept_public.get(s.department, 0) + public_ip
        if i % 10 == 9:
            (d / "project-application.yaml").write_text(_project(s), encoding="utf-8")
            written["files"] += 1
        if i % 50 == 49:
            (d / "shutdown-notice.yaml").write_text(_shutdown(s), encoding="utf-8")
            written["files"] += 1
    plans = []
    for dept, n in per_dept.items():
        vcpu = n * SERVER["vcpu"] * SERVER["count"]
        mem = n * SERVER["memory_gb"] * SERVER["count"]
        disk = n * (SERVER["system_disk_gb"] * SERVER["count"] + VOLUME_GB)
        plans.append(
            f"apiVersion: cgcloud/v1\nkind: AnnualPlan\n"
            f"metadata: {{id: JH-2026-{dept}, department: {dept}}}\n"
            f"spec: {{year: 2026, vcpu: {vcpu * 2}, memory_gb: {mem * 2}, disk_gb: {disk * 2}, "
            f"public_ip: {dept_public[dept] + 2}}}\n"
        )
    (out / "plans.yaml").write_text("---\n".join(plans), encoding="utf-8")
    written["files"] += 1
    return written


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("out", type=Path, help="output directory (emptied first)")
    ap.add_argument("--rows", type=int, default=50_000, help="rows in total (default 50000)")
    ap.add_argument(
        "--systems", type=int, default=None, help=f"systems (default rows/{ROWS_PER_SYSTEM})"
    )
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    w = generate(a.out, a.rows, a.systems, a.seed)
    print(
        f"{a.out}: {w['systems']} 个系统，{w['rows']} 行，{w['files']} 个文件；校验时间 --now {NOW}"
    )


if __name__ == "__main__":
    main()
