"""Form-level rules: what a document is (apiVersion/kind), its schema, unique ids."""

from collections.abc import Iterator

from cgcloud.findings import Finding
from cgcloud.rules.base import ERROR, Context, Rule

NOT_A_FORM = Rule("CG010", "not-a-form", ERROR, "附件格式", "文档缺少或写错 apiVersion / kind")
UNKNOWN_KEY = Rule(
    "CG011", "unknown-key", ERROR, "附件格式", "表单中出现未知的键（拼写错误或多余字段）"
)
MISSING = Rule("CG012", "missing-field", ERROR, "附件格式", "缺少表单必填项")
INVALID = Rule(
    "CG013", "invalid-value", ERROR, "附件格式", "字段类型或取值不符合表单格式（含无效日期）"
)
PERIOD_ORDER = Rule("CG014", "period-order", ERROR, "第十二条", "使用期终止日期早于起始日期")


def check_unique_ids(ctx: Context) -> Iterator[Finding]:
    seen: dict[str, str] = {}
    for form in ctx.repo.forms:
        if not form.id:
            continue
        if form.id in seen:
            yield DUPLICATE_ID.at(
                form.at / "metadata" / "id",
                f"文档编号 {form.id} 重复（已在 {seen[form.id]} 中使用）",
                "每张表单的文档编号在整个仓库中必须唯一",
                form=form,
            )
        else:
            seen[form.id] = form.at.file


DUPLICATE_ID = Rule(
    "CG020",
    "duplicate-id",
    ERROR,
    "附件格式",
    "文档编号（metadata.id）在仓库中重复",
    check_unique_ids,
)
SINGLETON = Rule(
    "CG021",
    "duplicate-site-file",
    ERROR,
    "附件2 注1",
    "仓库中只能有一个 Zones 和一个 HighRiskPorts",
)

RULES = [NOT_A_FORM, UNKNOWN_KEY, MISSING, INVALID, PERIOD_ORDER, DUPLICATE_ID, SINGLETON]
