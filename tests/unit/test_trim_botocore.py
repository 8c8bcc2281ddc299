"""The layer build's trim of botocore's data: what the kept services resolve must not change.

The reference is botocore's own data, as installed: a client built from the trimmed copy must
find the same model and the same regional endpoints as one built from the original.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import botocore
import botocore.session
import pytest
from botocore.client import BaseClient
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared"
BOTOCORE_DATA = Path(botocore.__file__).parent / "data"
KEPT = {"dynamodb", "secretsmanager", "sts"}
REGIONS = ("us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1")


def trim_module() -> ModuleType:
    """``layers/shared/trim_botocore.py``, which the layer build runs as a script."""
    spec = importlib.util.spec_from_file_location("trim_botocore", LAYER / "trim_botocore.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data_copy(target: Path, services: set[str]) -> Path:
    """The top-level files of botocore's data and the folders of ``services``."""
    target.mkdir()
    for path in BOTOCORE_DATA.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)
        elif path.name in services:
            shutil.copytree(path, target / path.name)
    return target


def client(data: Path | None, service: str, region: str) -> BaseClient:
    session = botocore.session.Session()
    if data is not None:
        session.register_component("data_loader", Loader(extra_search_paths=[str(data)],
                                                         include_default_search_paths=False))
    return session.create_client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x")


def test_kept_services_resolve_as_with_botocores_own_data(tmp_path: Path) -> None:
    data = data_copy(tmp_path / "data", KEPT | {"s3"})

    trim_module().trim(data, KEPT)

    assert {path.name for path in data.iterdir() if path.is_dir()} == KEPT
    assert not list(data.rglob("*.json.gz")), "kept models are stored decompressed"
    for service in sorted(KEPT):
        for region in REGIONS:
            trimmed, original = client(data, service, region), client(None, service, region)
            assert trimmed.meta.endpoint_url == original.meta.endpoint_url
            assert trimmed.meta.service_model.operation_names == original.meta.service_model.operation_names
    with pytest.raises(UnknownServiceError):
        client(data, "s3", "us-east-1")


def test_an_unknown_service_name_fails_the_build(tmp_path: Path) -> None:
    data = data_copy(tmp_path / "data", {"dynamodb"})

    with pytest.raises(SystemExit, match="dynamodbb"):
        trim_module().trim(data, {"dynamodbb"})
