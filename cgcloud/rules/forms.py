"""Form-level rules: what a document is (apiVersion/kind), its schema, unique ids."""

from collections.abc import Iterator

from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.rules.base import ERROR, Context, Rule

NOT_A_FORM = Rule(
    "CG010", "not-a-form", ERROR, N_("附件格式"), N_("文档缺少或写错 apiVersion / kind")
)
UNKNOWN_KEY = Rule(
    "CG011", "unknown-key", ERROR, N_("附件格式"), N_("表单中出现未知的键（拼写错误或多余字段）")
)
MISSING = Rule("CG012", "missing-field", ERROR, N_("附件格式"), N_("缺少表单必填项"))
INVALID = Rule(
    "CG013",
    "invalid-value",
    ERROR,
    N_("附件格式"),
    N_("字段类型或取值不符合表单格式（含无效日期）"),
)
PERIOD_ORDER = Rule(
    "CG014", "period-order", ERROR, N_("第十二条"), N_("使用期终止日期早于起始日期")
)


def check_unique_ids(ctx: Context) -> Iterator[Finding]:
    seen: dict[str, str] = {}
    for form in ctx.repo.forms:
        if not form.id:
            continue
        if form.id in seen:
            yield DUPLICATE_ID.at(
                form.at / "metadata" / "id",
                _("文档编号 {form_id} 重复（已在 {seen} 中使用）").format(
                    form_id=form.id, seen=seen[form.id]
                ),
                _("每张表单的文档编号在整个仓库中必须唯一"),
                form=form,
            )
        else:
            seen[form.id] = form.at.file


DUPLICATE_ID = Rule(
    "CG020",
    "duplicate-id",
    ERROR,
    N_("附件格式"),
    N_("文档编号（metadata.id）在仓库中重复"),
    check_unique_ids,
)
SINGLETON = Rule(
    "CG021",
    "duplicate-site-file",
    ERROR,
    N_("附件2 注1"),
    N_("仓库中只能有一个 Zones 和一个 HighRiskPorts"),
)

RULES = [NOT_A_FORM, UNKNOWN_KEY, MISSING, INVALID, PERIOD_ORDER, DUPLICATE_ID, SINGLETON]
