"""Bastion accounts and their SSH keys (第十九条; 附件4 堡垒机申请).

A ProjectApplication's ``bastion`` account may carry ``login`` (the account name on
the bastion) and ``ssh_key`` (the person's public key); ``cgcloud bastion apply``
opens access only for such accounts (docs/bastion.md).

* CG311 (error) — the key does not parse, is not one line, or carries options.
* CG312 (error) — the key is too weak: RSA under 3072 bits (DSA is refused by CG311).
* CG313 (error) — one key appears under two people: a key identifies one person.
* CG314 (error) — one login is given to two people, or one person has two logins.
* CG315 (info)  — a bastion account without ``login``/``ssh_key``: cgcloud opens nothing.
* CG316 (warning) — a bastion account whose person is not among the operators (运维人员)
  of the ResourceApplications of the systems its ProjectApplication bundles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from cgcloud.bastion import keys
from cgcloud.findings import Finding
from cgcloud.i18n import N_, _
from cgcloud.model import At, ProjectApplication
from cgcloud.rules.base import ERROR, INFO, WARNING, Context, Rule


@dataclass(frozen=True, slots=True)
class AccountEntry:
    """One ``bastion`` account row of a ProjectApplication, with its place."""

    project: ProjectApplication
    index: int
    name: str
    login: str | None
    key_text: str | None

    @property
    def at(self) -> At:
        return self.project.at / "spec" / "accounts" / self.index


def bastion_accounts(ctx: Context) -> list[AccountEntry]:
    """Every ``type: bastion`` account of every ProjectApplication, in file order."""

    def compute(c: Context) -> list[AccountEntry]:
        out = []
        for project in c.repo.projects:
            for i, a in enumerate(project.accounts):
                if a.get("type") != "bastion":
                    continue
                out.append(
                    AccountEntry(
                        project, i, str(a.get("name", "")), a.get("login"), a.get("ssh_key")
                    )
                )
        return out

    return ctx.shared("bastion_accounts", compute)


def _parsed(ctx: Context) -> dict[tuple[str, int], keys.PublicKey | keys.BadKey]:
    def compute(c: Context) -> dict[tuple[str, int], keys.PublicKey | keys.BadKey]:
        out: dict[tuple[str, int], keys.PublicKey | keys.BadKey] = {}
        for e in bastion_accounts(c):
            if e.key_text is None:
                continue
            try:
                out[(e.project.id, e.index)] = keys.parse(e.key_text)
            except keys.BadKey as exc:
                out[(e.project.id, e.index)] = exc
        return out

    return ctx.shared("bastion_keys", compute)


def check_key_parses(ctx: Context) -> Iterator[Finding]:
    parsed = _parsed(ctx)
    for e in bastion_accounts(ctx):
        got = parsed.get((e.project.id, e.index))
        if isinstance(got, keys.BadKey):
            yield KEY_INVALID.at(
                e.at / "ssh_key",
                _("{form} 堡垒机账号 {name} 的公钥不可用：{why}").format(
                    form=e.project.id, name=e.name, why=got
                ),
                _("粘贴 ~/.ssh/id_ed25519.pub 的完整一行（ssh-keygen -t ed25519 生成）"),
                form=e.project,
            )


def check_key_strength(ctx: Context) -> Iterator[Finding]:
    parsed = _parsed(ctx)
    for e in bastion_accounts(ctx):
        got = parsed.get((e.project.id, e.index))
        if isinstance(got, keys.PublicKey) and (why := keys.weakness(got)) is not None:
            yield KEY_WEAK.at(
                e.at / "ssh_key",
                _("{form} 堡垒机账号 {name} 的公钥太弱：{why}").format(
                    form=e.project.id, name=e.name, why=why
                ),
                _("用 ssh-keygen -t ed25519 生成新密钥，或 ssh-keygen -t rsa -b 4096"),
                form=e.project,
            )


def check_key_shared(ctx: Context) -> Iterator[Finding]:
    parsed = _parsed(ctx)
    first: dict[str, AccountEntry] = {}  # key → first account that uses it
    for e in bastion_accounts(ctx):
        got = parsed.get((e.project.id, e.index))
        if not isinstance(got, keys.PublicKey):
            continue
        seen = first.setdefault(got.openssh, e)
        if seen.name != e.name:
            yield KEY_SHARED.at(
                e.at / "ssh_key",
                _(
                    "{form} 堡垒机账号 {name} 的公钥（{fp}）已是 {other_form} 中 {other} 的公钥"
                ).format(
                    form=e.project.id,
                    name=e.name,
                    fp=got.fingerprint,
                    other_form=seen.project.id,
                    other=seen.name,
                ),
                _("每人使用自己的密钥：一个公钥只能属于一个人"),
                form=e.project,
            )


def check_login_conflict(ctx: Context) -> Iterator[Finding]:
    by_login: dict[str, AccountEntry] = {}
    by_name: dict[str, AccountEntry] = {}
    for e in bastion_accounts(ctx):
        if e.login is None:
            continue
        other = by_login.setdefault(e.login, e)
        if other.name != e.name:
            yield LOGIN_CONFLICT.at(
                e.at / "login",
                _(
                    "{form} 把堡垒机登录名 {login} 给了 {name}，但 {other_form} 中它属于 {other}"
                ).format(
                    form=e.project.id,
                    login=e.login,
                    name=e.name,
                    other_form=other.project.id,
                    other=other.name,
                ),
                _("每人一个登录名，不同的人用不同的登录名"),
                form=e.project,
            )
            continue
        mine = by_name.setdefault(e.name, e)
        if mine.login != e.login:
            yield LOGIN_CONFLICT.at(
                e.at / "login",
                _(
                    "{form} 中 {name} 的堡垒机登录名是 {login}，但 {other_form} 中是 {other_login}"
                ).format(
                    form=e.project.id,
                    name=e.name,
                    login=e.login,
                    other_form=mine.project.id,
                    other_login=mine.login,
                ),
                _("同一人在所有表单中使用同一个登录名"),
                form=e.project,
            )


def check_operator(ctx: Context) -> Iterator[Finding]:
    """The people with bastion access should be the systems' operators (附件1 运维人员)."""
    forms = {f.id: f for f in ctx.repo.forms}
    for e in bastion_accounts(ctx):
        if e.login is None or e.key_text is None:
            continue
        systems = {f.system for fid, _at in e.project.forms if (f := forms.get(fid)) is not None}
        apps = [a for a in ctx.repo.applications if a.system in systems]
        if not apps or any(e.name in a.operators for a in apps):
            continue
        yield NOT_OPERATOR.at(
            e.at / "name",
            _(
                "{form} 的堡垒机账号 {name} 不是系统 {systems} 的运维人员（云资源申请单 {apps} 的 operators）"
            ).format(
                form=e.project.id,
                name=e.name,
                systems=_("、").join(sorted(systems)),
                apps=_("、").join(sorted(a.id for a in apps)),
            ),
            _("把 {name} 加入云资源申请单的 operators（运维人员），或确认其确需堡垒机访问").format(
                name=e.name
            ),
            form=e.project,
        )


def check_account_complete(ctx: Context) -> Iterator[Finding]:
    for e in bastion_accounts(ctx):
        missing = [k for k, v in (("login", e.login), ("ssh_key", e.key_text)) if v is None]
        if missing:
            yield NO_KEY.at(
                e.at,
                _(
                    "{form} 堡垒机账号 {name} 没有 {missing}：cgcloud 不会在堡垒机上为其开通访问"
                ).format(form=e.project.id, name=e.name, missing=_("、").join(missing)),
                _("要由 cgcloud bastion apply 开通，请填写 login（登录名）和 ssh_key（公钥）"),
                form=e.project,
            )


KEY_INVALID = Rule(
    "CG311",
    "bastion-key-invalid",
    ERROR,
    N_("第十九条"),
    N_("堡垒机账号的 ssh_key 不是一行可解析的 OpenSSH 公钥（或带选项、DSA、类型不支持）"),
    check_key_parses,
)
KEY_WEAK = Rule(
    "CG312",
    "bastion-key-weak",
    ERROR,
    N_("第十九条"),
    N_("堡垒机账号的公钥太弱：RSA 少于 3072 位"),
    check_key_strength,
)
KEY_SHARED = Rule(
    "CG313",
    "bastion-key-shared",
    ERROR,
    N_("第十九条"),
    N_("同一个公钥出现在两个人的堡垒机账号中"),
    check_key_shared,
)
LOGIN_CONFLICT = Rule(
    "CG314",
    "bastion-login-conflict",
    ERROR,
    N_("第十九条"),
    N_("同一个堡垒机登录名给了两个人，或同一人有两个登录名"),
    check_login_conflict,
)
NO_KEY = Rule(
    "CG315",
    "bastion-account-no-key",
    INFO,
    N_("第十九条"),
    N_("堡垒机账号没有 login/ssh_key：cgcloud 不为其开通堡垒机访问"),
    check_account_complete,
)

NOT_OPERATOR = Rule(
    "CG316",
    "bastion-account-not-operator",
    WARNING,
    N_("第十九条"),
    N_("堡垒机账号的使用人不在其系统云资源申请单的运维人员（operators）中"),
    check_operator,
)

RULES = [KEY_INVALID, KEY_WEAK, KEY_SHARED, LOGIN_CONFLICT, NO_KEY, NOT_OPERATOR]
