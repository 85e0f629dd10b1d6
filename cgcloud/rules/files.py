"""Rules reported while reading files (loader): they have IDs but no check function."""

from cgcloud.i18n import N_
from cgcloud.rules.base import ERROR, WARNING, Rule

RULES = [
    Rule("CG001", "yaml-syntax", ERROR, N_("附件格式"), N_("YAML 语法错误（缩进、引号、括号）")),
    Rule(
        "CG002",
        "encoding",
        ERROR,
        N_("附件格式"),
        N_("文件不是 UTF-8 文本（非 UTF-8 字节或二进制文件）"),
    ),
    Rule("CG003", "tabs", ERROR, N_("附件格式"), N_("文件含有制表符；缩进只能用空格")),
    Rule("CG004", "duplicate-key", ERROR, N_("附件格式"), N_("同一映射中出现重复的键")),
    Rule(
        "CG005",
        "anchors-aliases-tags",
        ERROR,
        N_("附件格式"),
        N_("不支持 YAML 锚点、别名和标签（防止膨胀攻击，表单须逐项写出）"),
    ),
    Rule("CG006", "empty-file", WARNING, N_("附件格式"), N_("策略文件为空，没有任何表单")),
    Rule("CG007", "no-policies", ERROR, N_("附件格式"), N_("指定路径下没有任何策略文件")),
    Rule("CG008", "file-too-large", ERROR, N_("附件格式"), N_("文件超过大小上限，未读取")),
    Rule(
        "CG009",
        "path-not-read",
        ERROR,
        N_("附件格式"),
        N_("路径未读取：符号链接指向仓库外、悬空或循环，或不是普通文件（FIFO、套接字、设备）"),
    ),
]
