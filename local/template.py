"""``template.yaml``, read once and evaluated the way the local tooling needs it.

One loader (cfn-lint's decoder, which knows every CloudFormation short tag: ``!Ref x``
becomes ``{"Ref": "x"}``, ``!GetAtt A.B`` becomes ``{"Fn::GetAtt": ["A", "B"]}``) and one
resolver of the intrinsic functions that can be evaluated without CloudFormation: ``Ref``
to a parameter (its default, or an environment override), ``Fn::Sub``, ``Fn::Select``,
``Fn::Split``, ``Fn::Join`` and ``Fn::If`` on conditions built from parameters. Anything
only a deployed stack knows (a resource's ``Ref``, ``Fn::GetAtt``) raises
:class:`Unresolvable`, so callers decide what a local run does without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

REPO_ROOT = Path(__file__).resolve().parent.parent
# COURSES_TEMPLATE points the local tooling at another template (e.g. a candidate change).
TEMPLATE_PATH = Path(os.environ.get("COURSES_TEMPLATE", REPO_ROOT / "template.yaml"))

# The local stack's account and region (what AWS::AccountId and AWS::Region would be).
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_REGION = "us-east-1"
# Template parameters that the local environment may override (parameter → env var).
PARAMETER_ENV = {"AllowedOrigins": "ALLOWED_ORIGINS"}
_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")


class TemplateError(ValueError):
    """The template does not parse (cfn-lint's decoder reported errors)."""


class Unresolvable(ValueError):
    """An intrinsic that only CloudFormation can evaluate (resource attributes, stack ids)."""


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The parsed template; cached because several fixtures read it."""
    from cfnlint.decode import decode  # imported on first use: the decoder pulls in cfn-lint

    template, errors = decode(str(path))
    if template is None or errors:
        messages = "; ".join(str(error) for error in errors or [])
        raise TemplateError(f"cannot read {path}: {messages or 'empty template'}")
    document: dict[str, Any] = _plain(template)
    return document


def _plain(node: Any) -> Any:
    """The decoder's nodes (dict/list/str subclasses carrying line numbers) as plain values.

    Plain values pickle, so what is read from the template can cross into the local
    server's container processes.
    """
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, str):
        return str(node)
    return node


def resources_of_type(resource_type: str, path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    """Logical id → resource for every resource of ``resource_type``."""
    resources: dict[str, dict[str, Any]] = load_template(path).get("Resources", {})
    return {lid: res for lid, res in resources.items() if res.get("Type") == resource_type}


def resolve(
    value: Any,
    parameters: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    *,
    conditions: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate the locally resolvable intrinsics in ``value``.

    ``parameters`` and ``conditions`` are the template's blocks of those names. Parameter
    defaults apply unless the environment overrides them (see ``PARAMETER_ENV``); anything
    else raises :class:`Unresolvable`.
    """
    return _Resolver(parameters, conditions or {}, os.environ if env is None else env).resolve(value)


def resolve_in(template: Mapping[str, Any], value: Any, env: Mapping[str, str] | None = None) -> Any:
    """:func:`resolve` with the parameters and conditions of ``template``."""
    return resolve(value, template.get("Parameters") or {}, env, conditions=template.get("Conditions") or {})


class _Resolver:
    def __init__(self, parameters: Mapping[str, Any], conditions: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.parameters = parameters
        self.conditions = conditions
        self.env = env

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise Unresolvable(str(value))
        ((name, argument),) = value.items()
        intrinsic = self._INTRINSICS.get(name)
        if intrinsic is None:
            raise Unresolvable(name)
        return intrinsic(self, argument)

    def ref(self, argument: Any) -> Any:
        return self.parameter(str(argument))

    def split(self, argument: Any) -> list[str]:
        separator, text = argument
        return str(self.resolve(text)).split(str(separator))

    def select(self, argument: Any) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def join(self, argument: Any) -> str:
        separator, items = argument
        return str(separator).join(str(item) for item in self.resolve(items))

    def if_(self, argument: Any) -> Any:
        condition, if_true, if_false = argument
        return self.resolve(if_true if self.condition(str(condition)) else if_false)

    def parameter(self, name: str) -> Any:
        override = PARAMETER_ENV.get(name)
        if override and self.env.get(override):
            return self.env[override]
        if name in self.parameters and "Default" in self.parameters[name]:
            return self.parameters[name]["Default"]
        raise Unresolvable(f"Ref {name}")

    def substitute(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local_values = {key: self.resolve(item) for key, item in variables.items()}

        def one(found: re.Match[str]) -> str:
            key = found.group(1)
            return str(local_values[key] if key in local_values else self.parameter(key))

        return _SUB_VAR.sub(one, str(text))

    _INTRINSICS: ClassVar[dict[str, Callable[[_Resolver, Any], Any]]] = {
        "Ref": ref, "Fn::Split": split, "Fn::Select": select, "Fn::Join": join, "Fn::If": if_, "Fn::Sub": substitute,
    }

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise Unresolvable(f"Condition {name}")
        return self.truth(self.conditions[name])

    def truth(self, expression: Any) -> bool:
        if not isinstance(expression, dict) or len(expression) != 1:
            raise Unresolvable(str(expression))
        ((name, argument),) = expression.items()
        if name == "Condition":
            return self.condition(str(argument))
        if name == "Fn::Equals":
            left, right = (self.resolve(side) for side in argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.truth(argument[0])
        if name == "Fn::And":
            return all(self.truth(item) for item in argument)
        if name == "Fn::Or":
            return any(self.truth(item) for item in argument)
        raise Unresolvable(name)


def template_environment(template: Mapping[str, Any], variables: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Environment values that resolve locally (literals and parameter refs).

    ``variables`` defaults to ``Globals.Function.Environment``; pass a function's own block
    to resolve that instead.
    """
    if variables is None:
        variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    environment: dict[str, str] = {}
    for name, value in variables.items():
        try:
            resolved = resolve_in(template, value)
        except (Unresolvable, ValueError, TypeError, IndexError):
            continue
        if isinstance(resolved, str) and "{{resolve:" in resolved:
            continue  # a dynamic reference only CloudFormation can resolve
        if isinstance(resolved, str | int | float | bool):
            environment[str(name)] = str(resolved).lower() if isinstance(resolved, bool) else str(resolved)
    return environment
