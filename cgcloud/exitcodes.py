"""One exit-code table for every `cgcloud` command (README, docs/reliability.md).

Why one table: cgcloud runs as a CI gate and under service managers, where the
exit code is the only thing a script reads. A code must mean the same in every
command, and a usage error must never share a code with "changes present"
(Terraform's `plan -detailed-exitcode` made that mistake visible: 2 for both).
"""

from __future__ import annotations

import os
from enum import IntEnum

from cgcloud.i18n import N_


class ExitCode(IntEnum):
    """What the process tells its caller; the numbers are a public contract."""

    OK = 0  # success, or nothing to do
    FAILURE = 1  # validation errors, cloud error, apply failed, unauthorised exposure
    CHANGES = (
        2  # changes present (`plan --detailed-exitcode`, and `diff`, a command defined as a diff)
    )
    DELETE_GUARD = 3  # refused: more deletions than --max-deletes
    LOCKED = 4  # the cloud's lock is held by another run
    DECLINED = 5  # not confirmed at the prompt (or no --yes without a terminal)
    USAGE = os.EX_USAGE  # 64: bad option or value, missing path, unknown command
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


MEANING: dict[ExitCode, str] = {
    ExitCode.OK: N_("成功，或无事可做"),
    ExitCode.FAILURE: N_("失败：校验错误、云错误、执行失败、发现未授权暴露"),
    ExitCode.CHANGES: N_("有变更（仅 plan --detailed-exitcode 与 diff）"),
    ExitCode.DELETE_GUARD: N_("删除保护：删除数超过 --max-deletes"),
    ExitCode.LOCKED: N_("锁被其他运行持有"),
    ExitCode.DECLINED: N_("未在提示处确认"),
    ExitCode.USAGE: N_("用法错误：选项或取值无效、路径不存在"),
    ExitCode.INTERRUPTED: N_("被中断（Ctrl-C）"),
}
