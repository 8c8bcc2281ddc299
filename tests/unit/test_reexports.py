"""Re-exporting packages loaded name by name: the same names and objects, only what is used imported."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from courses_api.http.reexports import lazy_reexports, reexported_names

PACKAGE = "lazy_sample"
INIT = '''"""A package that only re-exports."""

from .cheap import Cheap
from .costly import Costly as Renamed
from lazy_sample.helper import helper

__all__ = ["Cheap", "Renamed", "helper"]
'''


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``lazy_sample``: ``Cheap``, ``Renamed`` (``costly.Costly``) and ``helper``, a function of
    the submodule of the same name; ``costly`` records its import in ``sys.costly_imported``."""
    root = tmp_path / PACKAGE
    root.mkdir()
    (root / "__init__.py").write_text(INIT)
    (root / "cheap.py").write_text("class Cheap:\n    pass\n")
    (root / "costly.py").write_text("import sys\nsys.costly_imported = True\n\nclass Costly:\n    pass\n")
    (root / "helper.py").write_text("def helper() -> str:\n    return 'helped'\n")
    (root / "other.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "costly_imported", False, raising=False)
    yield root
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def test_a_reexporting_init_is_read_as_names_and_their_modules() -> None:
    parsed = reexported_names(INIT, PACKAGE)

    assert parsed == ({"Cheap": ("lazy_sample.cheap", "Cheap"), "Renamed": ("lazy_sample.costly", "Costly"),
                       "helper": ("lazy_sample.helper", "helper")}, ["Cheap", "Renamed", "helper"])


@pytest.mark.parametrize("statement", ["import os", "x = 1", "from .cheap import *", "print('side effect')",
                                       "__all__ = names()"])
def test_an_init_that_does_anything_else_is_not_read(statement: str) -> None:
    assert reexported_names(INIT + statement + "\n", PACKAGE) is None


@pytest.mark.usefixtures("sample")
def test_each_name_loads_its_module_on_first_access_only() -> None:
    assert lazy_reexports(PACKAGE)
    package = importlib.import_module(PACKAGE)

    assert f"{PACKAGE}.costly" not in sys.modules
    from lazy_sample import Cheap  # type: ignore[import-not-found]

    assert Cheap is importlib.import_module(f"{PACKAGE}.cheap").Cheap
    assert f"{PACKAGE}.costly" not in sys.modules
    assert not sys.costly_imported  # type: ignore[attr-defined]

    assert package.Renamed is importlib.import_module(f"{PACKAGE}.costly").Costly
    assert sys.costly_imported  # type: ignore[attr-defined]
    assert package.__all__ == ["Cheap", "Renamed", "helper"]
    assert {"Cheap", "Renamed", "helper"} <= set(dir(package))


@pytest.mark.usefixtures("sample")
def test_submodules_that_are_not_reexported_still_import() -> None:
    assert lazy_reexports(PACKAGE)

    from lazy_sample import other

    assert other.VALUE == 1
    with pytest.raises(ImportError):
        from lazy_sample import Missing  # noqa: F401


@pytest.mark.usefixtures("sample")
def test_a_name_shared_with_its_submodule_stays_the_reexported_object() -> None:
    assert lazy_reexports(PACKAGE)
    importlib.import_module(f"{PACKAGE}.helper")  # importing the submodule binds it on the package...

    from lazy_sample import helper  # ...yet the name is the function, as the ordinary __init__ leaves it

    assert helper() == "helped"


def test_an_init_that_does_more_is_imported_as_usual(sample: Path) -> None:
    (sample / "__init__.py").write_text(INIT + "import sys\nsys.costly_imported = 'eager'\n")

    assert not lazy_reexports(PACKAGE)
    assert PACKAGE not in sys.modules
    importlib.import_module(PACKAGE)
    assert sys.costly_imported == "eager"  # type: ignore[attr-defined]


@pytest.mark.usefixtures("sample")
def test_an_imported_package_is_left_alone() -> None:
    package = importlib.import_module(PACKAGE)

    assert not lazy_reexports(PACKAGE)
    assert sys.modules[PACKAGE] is package
    assert sys.costly_imported  # type: ignore[attr-defined]  # the ordinary __init__ ran
