"""What an offline plan records: every resource as plain data (type, name, engine URN, parent,
inputs with secrets masked), and the stack's outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bootstrap.errors import ExitCode, UserError
from stacks.contract import SECRET_MASK as MASKED


class PlanError(UserError):
    """The infra program could not be planned offline."""


class ConfigRefused(PlanError):
    """The program refused its configuration (a `pulumi.RunError`): bad input."""

    exit_code = ExitCode.BAD_INPUT


@dataclass
class PlannedResource:
    type: str
    name: str
    urn: str
    parent: str | None  # the parent's URN; None only for the stack itself
    inputs: dict[str, Any]  # plain data; secrets are "[secret]"
    custom: bool
    provider: str | None = None  # the explicit provider reference ("<urn>::<id>"), if any
    dependencies: tuple[str, ...] = ()  # URNs it waits for (depends_on, components expanded)


@dataclass
class StackPlan:
    stack: str
    resources: list[PlannedResource]  # sorted by URN
    outputs: dict[str, Any]  # the stack's exports; secrets are "[secret]"
    messages: list[str] = field(default_factory=list)  # what the program logged

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> PlannedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r} in stack {self.stack}")
        return matches[0]


# --------------------------------------------------------------------------------------------
# Plain data from the wire format


def plain(value: Any) -> Any:
    """Protobuf struct values as plain Python: secrets masked, resource references as URNs."""
    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc

    if isinstance(value, struct_pb2.Struct):
        sig = value.fields.get(rpc._special_sig_key)
        if sig is not None:
            kind = sig.string_value
            if kind == rpc._special_secret_sig:
                return MASKED
            if kind == rpc._special_resource_sig:
                return plain(value["urn"])
            if kind == rpc._special_output_value_sig:
                if value.get("secret"):
                    return MASKED
                return plain(value["value"]) if "value" in value else None
            if kind == rpc._special_asset_sig:
                return "[asset]"
            if kind == rpc._special_archive_sig:
                return "[archive]"
        return {k: plain(v) for k, v in value.items() if v != rpc.UNKNOWN}
    if isinstance(value, struct_pb2.ListValue):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == rpc.UNKNOWN:
        return None
    return value


def masked(value: Any) -> Any:
    """Deserialised values (mock inputs, stack outputs) with secrets masked."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return MASKED
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)
