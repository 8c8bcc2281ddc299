"""Powertools' re-exporting packages, loaded name by name instead of all at once (PEP 562).

``aws_lambda_powertools.event_handler``'s ``__init__`` imports every resolver Powertools has
(the AppSync one imports asyncio: about 20 ms of a cold start), and ``utilities.data_classes``
some thirty event classes (CodePipeline's pulls in tempfile and zipfile); a REST function uses
one resolver and the API Gateway events. Both ``__init__`` modules only re-export names of their
submodules, so :func:`lazy_reexports` installs each with the same names and objects, each
loading its submodule on first access. A package whose ``__init__`` does anything else (or that
is already imported, or ships without source) is left to the ordinary import: a Powertools
upgrade that changes them can cost time, never behaviour.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

# Imported by the REST resolver; each is replaced only while nothing has imported it yet.
POWERTOOLS_PACKAGES = (
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
)


def reexported_names(source: str, package: str) -> tuple[dict[str, tuple[str, str]], list[str] | None] | None:
    """``{name: (module, attribute)}`` and ``__all__`` of an ``__init__`` that only re-exports.

    ``None`` when the source does anything else than a docstring, ``from … import name [as alias]``
    statements and a literal ``__all__``: laziness could then change what the package does.
    """
    names: dict[str, tuple[str, str]] = {}
    exported: list[str] | None = None
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module and all(alias.name != "*" for alias in node.names):
            module = node.module if node.level == 0 else importlib.util.resolve_name(
                "." * node.level + node.module, package)
            names.update({alias.asname or alias.name: (module, alias.name) for alias in node.names})
            continue
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "__all__"):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:  # computed: not a plain re-export
                return None
            if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
                exported = list(value)
                continue
        return None
    return names, exported


def lazy_reexports(package: str) -> bool:
    """Install ``package`` so that each name its ``__init__`` re-exports is imported on first access.

    True when installed; False when the package was left to the ordinary import (already
    imported, not found, no source, or an ``__init__`` that does more than re-export).
    """
    if package in sys.modules:
        return False
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None or not (spec.origin or "").endswith(".py"):
        return False
    with open(spec.origin, encoding="utf-8") as file:  # type: ignore[arg-type]  # checked just above
        parsed = reexported_names(file.read(), package)
    if parsed is None:
        return False
    names, exported = parsed
    module = importlib.util.module_from_spec(spec)

    def __getattr__(name: str) -> Any:  # noqa: N807 - PEP 562 module hook
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        source, attribute = names[name]
        value = getattr(importlib.import_module(source), attribute)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807 - PEP 562 module hook
        return sorted({*module.__dict__, *names})

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__dir__ = __dir__  # type: ignore[method-assign]
    setattr(module, "__all__", exported if exported is not None else list(names))  # noqa: B010 - not declared on ModuleType
    sys.modules[package] = module
    parent, _, child = package.rpartition(".")
    if parent:
        setattr(importlib.import_module(parent), child, module)
    _bind_names_shadowing_submodules(module, names, spec.submodule_search_locations)
    return True


def _bind_names_shadowing_submodules(module: ModuleType, names: dict[str, tuple[str, str]],
                                     locations: list[str]) -> None:
    """Resolve now the names that are also submodules (``data_classes.event_source``, a function).

    In the ordinary ``__init__`` the re-export rebinds the name after its submodule is
    imported; imported later, the submodule would overwrite the name with itself.
    """
    entries = {entry.removesuffix(".py") for location in locations for entry in os.listdir(location)}
    for name in sorted(entries.intersection(names)):
        getattr(module, name)


def install() -> list[str]:
    """Make the Powertools packages of :data:`POWERTOOLS_PACKAGES` lazy (where still possible)."""
    return [package for package in POWERTOOLS_PACKAGES if lazy_reexports(package)]

