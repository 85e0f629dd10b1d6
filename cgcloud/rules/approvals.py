"""Approvals newer than what they approve (needs a base revision, so no ``check`` here).

* CG405 — a form's approved content changed since the base revision while the
  signature boxes that approve it kept their old signature (same signer and
  date, or a date before the base's): a copied signature is not an approval of
  new content. 第十条/第十三条: a resource request or a network-policy
  adjustment is opened only after it is filed and approved, so an adjustment
  needs its own approval. Reported by ``cgcloud diff`` and by
  ``cgcloud validate --base REV``; the check is ``gitops.semdiff.stale_approvals``.
"""

from __future__ import annotations

from cgcloud.i18n import N_
from cgcloud.rules.base import ERROR, Rule

CG405 = Rule(
    "CG405",
    "approval-not-renewed",
    ERROR,
    N_("第十条、第十三条"),
    N_("表单内容自基准版本以来已修改而审批签字未更新（沿用旧签字；需 --base 基准版本）"),
)

RULES = [CG405]
