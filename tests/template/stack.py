"""``template.yaml`` as CloudFormation will see it: SAM's transform (``ops.cfn_template``), then conditions.

``Stack`` evaluates the template's conditions for a set of parameter values and resolves
``Fn::If`` and ``AWS::NoValue`` in what a test reads, so a rule can be checked for each
deployment mode (created VPC or an existing one, cache on or off, dev or prod).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ops.cfn_template import load_source, transform

__all__ = ["Stack", "load_source", "transform"]

NO_VALUE = object()


@dataclass
class Stack:
    """A transformed template under one set of parameter values."""

    template: dict[str, Any]
    parameters: dict[str, Any]

    @classmethod
    def of(cls, template: dict[str, Any], **overrides: Any) -> Stack:
        values = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
        values.update(overrides)
        return cls(template, values)

    # ---- conditions ------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        return bool(self._evaluate(self.template["Conditions"][name]))

    def _evaluate(self, node: Any) -> Any:
        if not isinstance(node, dict) or len(node) != 1:
            return node
        (function, argument), = node.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Ref":
            return self.parameters[argument]
        if function == "Fn::Equals":
            left, right = (self._evaluate(item) for item in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self._evaluate(argument[0])
        if function == "Fn::And":
            return all(self._evaluate(item) for item in argument)
        if function == "Fn::Or":
            return any(self._evaluate(item) for item in argument)
        if function == "Fn::Join":
            separator, items = argument
            values = self._evaluate(items)
            values = values.split(",") if isinstance(values, str) else values
            return separator.join(str(self._evaluate(item)) for item in values)
        raise ValueError(f"cannot evaluate {function} in a condition")

    # ---- resources -------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        """``node`` with every ``Fn::If`` decided and ``AWS::NoValue`` removed."""
        if isinstance(node, list):
            return [item for item in (self.resolve(item) for item in node) if item is not NO_VALUE]
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                return self.resolve(when_true if self.condition(name) else when_false)
            if node == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
            resolved = {key: self.resolve(value) for key, value in node.items()}
            return {key: value for key, value in resolved.items() if value is not NO_VALUE}
        return node

    def resources(self, resource_type: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Resources created under these parameters (their own conditions hold), resolved."""
        for logical_id, resource in self.template["Resources"].items():
            if resource_type is not None and resource["Type"] != resource_type:
                continue
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            yield logical_id, self.resolve(resource)

    def resource(self, logical_id: str) -> dict[str, Any]:
        resource = self.template["Resources"][logical_id]
        assert "Condition" not in resource or self.condition(resource["Condition"]), f"{logical_id} is not created"
        resolved: dict[str, Any] = self.resolve(resource)
        return resolved

    def dependencies(self, logical_id: str) -> set[str]:
        """Resources ``logical_id`` waits for: DependsOn, Ref and GetAtt, transitively."""
        seen: set[str] = set()
        pending = [logical_id]
        while pending:
            current = self.resource(pending.pop())
            direct = set(_as_list(current.get("DependsOn"))) | _references(current)
            for name in direct - seen:
                if name in self.template["Resources"]:
                    seen.add(name)
                    pending.append(name)
        return seen


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= {name.split(".", 1)[0] for name in _sub_names(text)}
                if not isinstance(value, str):
                    found |= _references(value[1])
            else:
                found |= _references(value)
    return found


def _sub_names(text: str) -> set[str]:
    names: set[str] = set()
    start = text.find("${")
    while start != -1:
        end = text.find("}", start)
        if end == -1:
            break
        names.add(text[start + 2 : end])
        start = text.find("${", end)
    return names
