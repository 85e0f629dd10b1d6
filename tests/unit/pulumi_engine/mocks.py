"""Run the Pulumi program under Pulumi's own mocks (no CLI, no engine, no network).

`pulumi.runtime.set_mocks` is Pulumi's documented unit-test path: every resource
registration goes to `Recorder.new_resource`, which keeps its type, name and
resolved inputs so a test can compare them with the desired state or the cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from cgcloud.engines.pulumi.program import Declared


@dataclass
class Declaration:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Recorder(pulumi.runtime.Mocks):
    declared: list[Declaration] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.declared.append(Declaration(args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list]:
        raise AssertionError(f"the program made an unexpected invoke: {args.token}")

    def of_type(self, suffix: str) -> list[Declaration]:
        return [d for d in self.declared if d.type.endswith(suffix)]


def run(body: Callable[[], Declared]) -> tuple[Recorder, Declared]:
    """Run ``body`` as a Pulumi program under fresh mocks; return what it registered."""
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="cgcloud", stack="test", preview=False)
    result: dict[str, Declared] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        declared = body()
        result["declared"] = declared
        return pulumi.Output.all(*[r.urn for r in declared.resources.values()])

    program()
    return recorder, result["declared"]
