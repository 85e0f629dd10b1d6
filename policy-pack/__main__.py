"""The pack `pulumi preview --policy-pack policy-pack/` loads; the policies are
`cgcloud.engines.pulumi.policy.policies()` (tested there), so this file only serves them."""

from pulumi_policy import PolicyPack

from cgcloud.engines.pulumi.policy import policies

PolicyPack(
    name="cgcloud",
    description="云资源管理办法的网络规则（cgcloud validate 的同一套规则）",
    policies=policies(),
)
