"""The Pulumi engine: the same desired state declared as pulumi-openstack resources.

`program.declare` is the program body (used by `Pulumi.yaml`'s entry point and by
the tests under Pulumi's mocks); it compiles nothing itself — the core's
`desired.compile` does, so the Pulumi and OpenStack engines cannot disagree on
what the forms grant (docs/pulumi.md).

`engine.PulumiEngine` is ``--engine pulumi``: the same program as a stack's inline
program through Pulumi's Automation API (`workspace`: CLI, backend, stack;
`translate`: Pulumi's events → cgcloud's plan). Nothing here is imported unless
that engine or the program is chosen (the registry imports by path).
"""
