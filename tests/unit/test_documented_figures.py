"""Figures and defaults written in two places agree: docs with the template and samconfig,
settings with the template, and each cache mechanism's docstring with the benchmark report
that measured it (so a rerun that moves a figure fails here until the docstring says so)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from courses_api.cache.config import SETTING_OF, CacheConfig
from courses_api.settings import Settings
from ops.cfn_template import load_source

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / "layers" / "shared" / "courses_api" / "cache"


def _text(path: Path) -> str:
    """The file's text with markdown emphasis dropped and whitespace collapsed."""
    return " ".join(path.read_text(encoding="utf-8").replace("**", "").split())


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_source()


def test_the_deploy_guide_states_the_dev_values_the_stack_gets(template: dict[str, Any]) -> None:
    """A row of DEPLOY.md's parameter table whose dev column is all code spans names, in order, the
    values ``make deploy`` passes: samconfig's override, else the template's default."""
    overrides = dict(item.split("=", 1) for item in
                     tomllib.loads((REPO / "samconfig.toml").read_text())["default"]["deploy"]["parameters"]
                     ["parameter_overrides"])
    checked = 0
    for line in (REPO / "docs" / "DEPLOY.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names, values = re.findall(r"`([^`]*)`", cells[0]), re.findall(r"`([^`]*)`", cells[1])
        if not values or len(values) != len(names) or re.sub(r"`[^`]*`|[, ]", "", cells[1]):
            continue
        for name, value in zip(names, values, strict=True):
            expected = overrides.get(name, str(template["Parameters"][name].get("Default")))
            assert value == expected.lower() if expected in ("True", "False") else value == expected, (name, value)
            checked += 1
    assert checked >= 5, "the table's shape changed: read it again"


def test_settings_defaults_are_the_values_the_template_gives_the_functions(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for setting in (*SETTING_OF.values(), "cache_key_prefix"):
        value = variables.get(setting.upper())
        if isinstance(value, str):  # a literal, not a parameter reference
            assert str(Settings.model_fields[setting].default) == str(type(Settings.model_fields[setting].default)(
                value)), setting
    assert CacheConfig().list_ttl_s == Settings.model_fields["cache_list_ttl_s"].default


# Each mechanism's figure, as its docstring and docs/BENCHMARKS.md write it: the figures that
# do not depend on the machine (read counts and read units). Latencies move from run to run;
# the docstrings that quote one (near.py, guard.py) say which run it came from.
FIGURES = {
    "entries.py": ["64 concurrent misses on one key cost 1 DynamoDB read",
                   "per item miss: 0.50 for courses under 4 KB"],
}


@pytest.mark.parametrize("module", sorted(FIGURES))
def test_each_cache_mechanism_quotes_the_figure_of_the_last_benchmark_run(module: str) -> None:
    report = _text(REPO / "docs" / "BENCHMARKS.md")
    docstring = _text(CACHE / module)
    for figure in FIGURES[module]:
        assert figure in docstring, f"{module} no longer quotes {figure!r}"
        assert figure in report, f"docs/BENCHMARKS.md no longer says {figure!r}: update {module}'s docstring"
