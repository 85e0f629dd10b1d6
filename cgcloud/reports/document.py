"""The report as a neutral document: sections of notes, tables and charts.

Markdown, HTML and XLSX render this same list, so the numbers they show are the
numbers of the JSON (formatted here once: GiB, percentages, hours).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cgcloud.i18n import N_, _
from cgcloud.reports.incidents import LIMITS

GIB = 1024**3
RESOURCE_NAMES = {
    "vcpus": N_("vCPU（核）"),
    "ram_bytes": N_("内存（GiB）"),
    "disk_bytes": N_("磁盘（GiB）"),
    "public_ips": N_("公网 IP（个）"),
}
TIER_NAMES = {
    "system_disk": N_("系统盘"),
    "high-speed": N_("高速存储"),
    "standard": N_("普通存储"),
    "": N_("（未指定类型）"),
}
STAGE_NAMES = {
    "scheduled": N_("待关停"),
    "awaiting_confirmation": N_("待运维确认"),
    "power_off_due": N_("应关机"),
    "powered_off": N_("已关机"),
    "deletion_due": N_("应删除"),
    "reclaimed": N_("已回收"),
}


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]
    name: str = ""


@dataclass
class Section:
    key: str
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # keys of report["charts"] or "incidents"


def named_lines(data: dict[str, Any]) -> list[tuple[str, list[float | None], bool]]:
    """(label, values, is the total) of a chart: the total first, then each system."""
    if "total" in data:
        return [(_("合计"), data["total"], True)] + [
            (name, vals, False) for name, vals in data["systems"].items()
        ]
    return [(name, vals, False) for name, vals in data["lines"].items()]


def amount(value: float | None, resource: str) -> str:
    if value is None:
        return "—"
    if resource in ("ram_bytes", "disk_bytes"):
        return f"{value / GIB:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.2f} h"


def build_sections(r: dict[str, Any]) -> list[Section]:
    return [
        _summary(r),
        _coverage(r),
        _usage(r),
        _trends(r),
        _changes(r),
        _rules(r),
        _decommission(r),
        _validation(r),
        _incidents(r),
        _analysis(r),
        _warnings(r),
    ]


def title(r: dict[str, Any]) -> str:
    p = r["period"]
    return _("云资源运行和使用情况{kind}（{label}）").format(kind=p["title"], label=p["label"])


def _summary(r: dict[str, Any]) -> Section:
    p, cov = r["period"], r["coverage"]
    inc = [i for i in r["incidents"] if i["limit_seconds"] is not None]
    s = Section("summary", _("一、概况（第二十条）"))
    s.notes = [
        _("报告期：{a} 至 {b}（Asia/Shanghai，含首尾两日）。").format(
            a=p["first_day"], b=p["last_day"]
        ),
        _("数据来源：Prometheus {url}；cgcloud 审计日志与回收记录。生成时间 {t}。").format(
            url=r["prometheus"], t=r["generated_at"]
        ),
        _("数据覆盖率 {c}，缺口 {n} 段共 {h}。").format(
            c=pct(cov["covered_ratio"]), n=len(cov["gaps"]), h=hours(cov["missing_seconds"])
        ),
        _(
            "系统 {n} 个；变更 {c} 项（失败 {f}）；故障 {i} 起，其中需出具《事故调查报告》{k} 起，"
            "超时 {o} 起。"
        ).format(
            n=len(r["systems"]),
            c=r["changes"]["total"],
            f=r["changes"]["failed"],
            i=len(inc),
            k=sum(1 for i in inc if i["needs_incident_report"]),
            o=sum(1 for i in inc if i["within_limit"] is False),
        ),
    ]
    rows = []
    for res, t in r["totals"].items():
        rows.append(
            [
                _(RESOURCE_NAMES[res]),
                amount(t["approved"]["mean"], res),
                amount(t["used"]["min"], res),
                amount(t["used"]["mean"], res),
                amount(t["used"]["max"], res),
                pct(t["utilisation_mean"]),
            ]
        )
    s.tables.append(
        Table(
            [
                _("资源"),
                _("批准（均值）"),
                _("使用最小"),
                _("使用均值"),
                _("使用最大"),
                _("平均利用率"),
            ],
            rows,
            _("合计"),
        )
    )
    return s


def _coverage(r: dict[str, Any]) -> Section:
    cov = r["coverage"]
    s = Section("coverage", _("二、数据完整性"))
    if cov["gaps"]:
        s.notes.append(
            _(
                "以下时段没有 cgcloud exporter 的样本（exporter 或 Prometheus 未运行）。"
                "统计只用实际样本，缺口不插值，图中缺口处断开。"
            )
        )
    else:
        s.notes.append(
            _("报告期内数据完整：没有超过 {g} 秒的缺口。").format(
                g=f"{cov['gap_threshold_seconds']:g}"
            )
        )
    missing = r.get("systems_without_data")
    if missing is not None:
        s.notes.append(
            _("表单中批准、报告期内没有用量数据的系统 {n} 个：{s}。").format(
                n=len(missing), s=_("、").join(missing) or _("无")
            )
        )
    s.tables.append(
        Table(
            [_("开始"), _("结束"), _("时长")],
            [[g["start"], g["end"], hours(g["seconds"])] for g in cov["gaps"]],
            _("数据缺口"),
        )
    )
    return s


def _usage(r: dict[str, Any]) -> Section:
    s = Section("usage", _("三、资源批准与使用（按系统）"))
    s.notes.append(
        _(
            "每个系统每类资源：批准量、报告期内使用量的最小/均值/最大值和利用率（使用/批准）。"
            "磁盘为系统盘与云硬盘之和；按存储层级的磁盘见下方第二张表。"
        )
    )
    rows = []
    for sys_ in r["systems"]:
        for res, v in sys_["resources"].items():
            ap, used, ut = v.get("approved") or {}, v.get("used") or {}, v.get("utilisation") or {}
            rows.append(
                [
                    sys_["system"],
                    _(RESOURCE_NAMES[res]),
                    amount(ap.get("max"), res),
                    amount(used.get("min"), res),
                    amount(used.get("mean"), res),
                    amount(used.get("max"), res),
                    pct(ut.get("mean")),
                    pct(ut.get("max")),
                ]
            )
    s.tables.append(
        Table(
            [
                _("系统"),
                _("资源"),
                _("批准"),
                _("使用最小"),
                _("使用均值"),
                _("使用最大"),
                _("平均利用率"),
                _("最高利用率"),
            ],
            rows,
            _("资源使用"),
        )
    )
    _tier_table(r, s)
    return s


def tier_name(tier: str) -> str:
    return _(TIER_NAMES[tier]) if tier in TIER_NAMES else tier


def _tier_table(r: dict[str, Any], s: Section) -> None:
    tiers = r["storage"]["tiers"]
    s.notes.append(
        _(
            "按存储层级：云硬盘按其类型（volume type），云主机系统盘单列为“系统盘”；"
            "最高利用率为期内最大使用量 / 期内最大批准量。合计行的均值为各系统均值之和。"
        )
    )
    rows = []
    for x in tiers["rows"]:
        ap, used, ut = x.get("approved") or {}, x.get("used") or {}, x.get("utilisation") or {}
        rows.append(
            [
                x["system"],
                tier_name(x["tier"]),
                amount(ap.get("max"), "disk_bytes"),
                amount(used.get("min"), "disk_bytes"),
                amount(used.get("mean"), "disk_bytes"),
                amount(used.get("max"), "disk_bytes"),
                pct(ut.get("mean")),
                pct(ut.get("max")),
            ]
        )
    for tier, t in tiers["totals"].items():
        rows.append(
            [
                _("合计"),
                tier_name(tier),
                amount(t["approved_mean"], "disk_bytes"),
                "",
                amount(t["used_mean"], "disk_bytes"),
                "",
                pct(t["utilisation_mean"]),
                "",
            ]
        )
    s.tables.append(
        Table(
            [
                _("系统"),
                _("存储层级"),
                _("批准（GiB）"),
                _("使用最小"),
                _("使用均值"),
                _("使用最大"),
                _("平均利用率"),
                _("最高利用率"),
            ],
            rows,
            _("按存储层级的磁盘"),
        )
    )


def _trends(r: dict[str, Any]) -> Section:
    s = Section("trends", _("四、利用率趋势与排行"))
    s.notes.append(
        _("折线为每个时段的平均利用率：“合计”为全部系统，其余为最高利用率前 {n} 名的系统。").format(
            n=r["thresholds"]["top"]
        )
    )
    s.charts = list(r["charts"])
    s.tables.append(
        Table(
            [_("排名"), _("系统"), _("最高利用率")],
            [[i + 1, t["system"], pct(t["peak_utilisation"])] for i, t in enumerate(r["top"])],
            _("利用率排行"),
        )
    )
    return s


def _changes(r: dict[str, Any]) -> Section:
    c = r["changes"]
    s = Section("changes", _("五、变更（审计日志）"))
    s.notes.append(
        _("共 {n} 项变更：成功 {d}，失败 {f}；开通规则 {o} 条，关闭规则 {c} 条。").format(
            n=c["total"], d=c["done"], f=c["failed"], o=c["rules_opened"], c=c["rules_closed"]
        )
    )
    s.tables.append(
        Table(
            [_("系统"), _("变更"), _("失败"), _("开通规则"), _("关闭规则")],
            [
                [b["system"], b["changes"], b["failed"], b["rules_opened"], b["rules_closed"]]
                for b in c["by_system"]
            ],
            _("按系统"),
        )
    )
    if c["failures"]:
        s.tables.append(
            Table(
                [_("时间"), _("系统"), _("操作"), _("对象"), _("错误")],
                [
                    [f["time"], f["system"], f["action"], f"{f['kind']} {f['name']}", f["error"]]
                    for f in c["failures"]
                ],
                _("失败的变更"),
            )
        )
    return s


def _rules(r: dict[str, Any]) -> Section:
    comp = r["compliance"]
    s = Section("rules", _("六、网络策略与高危端口（第十三条）"))
    s.notes.append(
        _("报告期内在云上开放过的高危端口规则 {n} 条（按其使用期截止时间）。").format(
            n=len(comp["high_risk_windows"])
        )
    )
    s.tables.append(
        Table(
            [_("系统"), _("备案表"), _("行"), _("端口"), _("使用期截止")],
            [
                [w["system"], w["form"], w["row"], w["port"], w["window_end"]]
                for w in comp["high_risk_windows"]
            ],
            _("高危端口使用期"),
        )
    )
    if comp["open_past_window"]:
        s.tables.append(
            Table(
                [_("系统"), _("高危"), _("最多过期仍开放")],
                [
                    [o["system"], o["high_risk"], amount(o["max"], "")]
                    for o in comp["open_past_window"]
                ],
                _("过期仍开放"),
            )
        )
    return s


def _decommission(r: dict[str, Any]) -> Section:
    comp = r["compliance"]
    s = Section("decommission", _("七、关停回收与配额过期（第十五条、第十四条）"))
    s.tables.append(
        Table(
            [_("系统"), _("关停单"), _("报告期内经历的阶段")],
            [
                [
                    d["system"],
                    d["form"],
                    _("、").join(_(STAGE_NAMES.get(x, x)) for x in d["stages"]),
                ]
                for d in comp["decommission_stages"]
            ],
            _("关停进度"),
        )
    )
    s.tables.append(
        Table(
            [
                _("关停单"),
                _("系统"),
                _("删除主机"),
                _("vCPU"),
                _("内存（GiB）"),
                _("存储（GB）"),
                _("系统整体回收"),
            ],
            [
                [
                    x["notice"],
                    x["system"],
                    x["hosts"],
                    x["vcpus"],
                    f"{x['memory_gb']:g}",
                    x["storage_gb"],
                    _("是") if x["system_reclaimed"] else _("否"),
                ]
                for x in r["reclaims"]
            ],
            _("回收记录"),
        )
    )
    s.notes.append(
        _("本年度无已批准资源申请单（配额过期）的系统：{s}。").format(
            s=_("、").join(comp["lapsed"]) or _("无")
        )
    )
    return s


def _validation(r: dict[str, Any]) -> Section:
    comp = r["compliance"]
    s = Section("validation", _("八、表单校验与配置漂移"))
    s.charts = ["validation"]
    s.tables.append(
        Table(
            [_("规则"), _("级别"), _("最多发现数")],
            [[v["rule"], v["severity"], amount(v["max"], "")] for v in comp["validation_max"]],
            _("校验发现"),
        )
    )
    s.tables.append(
        Table(
            [_("系统"), _("最多漂移项"), _("期末漂移项"), _("已修复")],
            [
                [
                    d["system"],
                    amount(d["max_changes"], ""),
                    amount(d["at_end"], ""),
                    _("是") if d["repaired"] else _("否"),
                ]
                for d in comp["drift"]
            ],
            _("配置漂移"),
        )
    )
    return s


def _incidents(r: dict[str, Any]) -> Section:
    s = Section("incidents", _("九、故障与响应（第二十三条）"))
    s.notes.append(
        _(
            "一级 1 小时、二级 2 小时、三级 4 小时内解决；一、二级须出具《事故调查报告》。"
            "时长为告警从触发到最后一次触发的时间；级别的来源见 docs/metrics.md。"
        )
    )
    s.charts = ["incidents"]
    rows = []
    for i in r["incidents"]:
        ok = {True: _("是"), False: _("否（超时）"), None: "—"}[i["within_limit"]]
        rows.append(
            [
                i["level"],
                i["alert"],
                i["subject"],
                i["start"],
                i["end"],
                hours(i["seconds"]),
                hours(i["limit_seconds"]),
                ok,
                _("需要") if i["needs_incident_report"] else "",
            ]
        )
    s.tables.append(
        Table(
            [
                _("级别"),
                _("告警"),
                _("对象"),
                _("开始"),
                _("结束"),
                _("时长"),
                _("时限"),
                _("按时解决"),
                _("事故调查报告"),
            ],
            rows,
            _("故障"),
        )
    )
    s.notes.append(_("时限：") + _("，").join(f"{k} {hours(v)}" for k, v in LIMITS.items()))
    return s


def _analysis(r: dict[str, Any]) -> Section:
    a, th = r["analysis"], r["thresholds"]
    s = Section("analysis", _("十、使用情况分析（第十四条）"))
    s.notes.append(
        _(
            "长期低用：报告期内最高利用率低于 {u}，建议调整为“最高使用量 × (1 + {h})”"
            "取整；接近配额：最高利用率不低于 {n}。"
        ).format(u=pct(th["under"]), h=pct(th["headroom"]), n=pct(th["near"]))
    )
    s.tables.append(
        Table(
            [
                _("系统"),
                _("资源"),
                _("批准"),
                _("使用均值"),
                _("使用最大"),
                _("最高利用率"),
                _("建议配额"),
            ],
            [
                [
                    x["system"],
                    _(RESOURCE_NAMES[x["resource"]]),
                    amount(x["approved"], x["resource"]),
                    amount(x["used_mean"], x["resource"]),
                    amount(x["used_max"], x["resource"]),
                    pct(x["utilisation_max"]),
                    amount(x["proposed"], x["resource"]),
                ]
                for x in a["under_used"]
            ],
            _("长期低用（调整候选）"),
        )
    )
    s.tables.append(
        Table(
            [_("系统"), _("资源"), _("批准"), _("使用最大"), _("最高利用率"), _("超出批准")],
            [
                [
                    x["system"],
                    _(RESOURCE_NAMES[x["resource"]]),
                    amount(x["approved"], x["resource"]),
                    amount(x["used_max"], x["resource"]),
                    pct(x["utilisation_max"]),
                    _("是") if x["over"] else _("否"),
                ]
                for x in a["near_quota"]
            ],
            _("接近配额"),
        )
    )
    _hosts_off(r, s)
    _cold_volumes(r, s)
    return s


def days(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 86400:.2f}"


def _hosts_off(r: dict[str, Any], s: Section) -> None:
    st, th = r["storage"], r["thresholds"]
    off = st["hosts_off"]
    s.notes.append(
        _(
            "长期关机：报告期内某个样本显示已连续关机不少于 {d} 天的云主机。"
            "关机起点取云平台对该主机记录的最后变更时间（Nova 的 updated 字段，或 cgcloud 关机标记），"
            "只会晚于实际关机时间，所以天数不会多算；可能早于报告期开始。"
            "关机样本占比只计实际样本，数据缺口不计。"
            "按关停通知单关机的主机（第十五条，有意关机）不列入，共 {n} 台，见第七节。"
        ).format(d=f"{th['off_days']:g}", n=len(off["decommissioned"]))
    )
    state = {True: _("运行中"), False: _("关机"), None: _("无数据")}
    s.tables.append(
        Table(
            [
                _("系统"),
                _("云主机"),
                _("最长连续关机（天）"),
                _("关机起点"),
                _("关机样本占比"),
                _("期末状态"),
            ],
            [
                [
                    x["system"],
                    x["server"],
                    days(x["longest_off_seconds"]),
                    x["off_since"] or "—",
                    pct(x["off_share"]),
                    state[x["powered_on_at_end"]],
                ]
                for x in off["hosts"]
            ],
            _("长期关机的云主机"),
        )
    )


def _cold_volumes(r: dict[str, Any], s: Section) -> None:
    st, th = r["storage"], r["thresholds"]
    tiers = _("、").join(tier_name(t) for t in th["high_speed_tiers"])
    s.notes.append(
        _(
            "疑似冷数据（第十八条：高速存储只放高频读写数据，归档数据应转移至文件存储）："
            "{tiers}上的云硬盘，报告期内没有一个样本挂载在运行中的云主机上，"
            "且到期末已不少于 {d} 天不可能被读写。云硬盘接口没有读写量，"
            "“最后可能使用”是证据推断：未挂载取卷记录的最后变更（卸载会更新它），"
            "挂载的主机都已关机取其关机时间；只会晚于真正的最后读写，闲置天数不会多算。"
            "挂载在运行中主机上却不读写的卷需要虚拟化层的读写量，本报告看不到。"
        ).format(tiers=tiers, d=f"{th['cold_days']:g}")
    )
    if not st["high_speed_volumes"]["data_at_end"]:
        s.notes.append(_("报告期末没有 exporter 样本（见第二节），无法判断期末的冷数据卷。"))
    basis = {0: _("未挂载：卷记录最后变更"), None: "—"}
    s.tables.append(
        Table(
            [
                _("系统"),
                _("云硬盘"),
                _("存储层级"),
                _("容量（GiB）"),
                _("挂载云主机数"),
                _("最后可能使用"),
                _("闲置（天）"),
                _("依据"),
                _("建议"),
            ],
            [
                [
                    x["system"],
                    x["volume"] or x["volume_id"],
                    tier_name(x["tier"]),
                    amount(x["size_bytes"], "disk_bytes"),
                    amount(x["attached_servers"], ""),
                    x["last_used"],
                    days(x["idle_seconds"]),
                    basis.get(x["attached_servers"], _("挂载的云主机均已关机：其关机时间")),
                    _("转移至文件存储或归档"),
                ]
                for x in st["cold_volumes"]
            ],
            _("疑似冷数据的高速存储卷"),
        )
    )


def _warnings(r: dict[str, Any]) -> Section:
    s = Section("warnings", _("十一、读取时的问题"))
    s.notes = list(r["warnings"]) or [_("无。")]
    return s
