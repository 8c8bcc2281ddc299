"""Trim botocore's data, in the built layer, to the services the layer calls.

``python trim_botocore.py DATA_DIR SERVICE...`` (run by this folder's Makefile): removes the
other services' model folders and their entries in ``endpoints.json``. Every botocore client
parses that file when it is created: 1.2 MB holding every service's endpoints in every
partition, about 11 ms of each client built at cold start, for the two or three services a
function ever calls. The partitions, their regions and the kept services' entries are left
as botocore wrote them; a service left out fails loudly (``UnknownServiceError``) instead of
resolving a wrong endpoint. The kept services' gzipped models are stored decompressed
(botocore reads a ``.json`` before a ``.json.gz``): the same document, without inflating half a
megabyte of DynamoDB's model in every cold start.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path


def trim(data: Path, services: set[str]) -> None:
    """Keep only ``services`` in the botocore data folder ``data``."""
    folders = {path.name: path for path in data.iterdir() if path.is_dir()}
    missing = services - set(folders)
    if missing:
        raise SystemExit(f"botocore has no data for {sorted(missing)}: check the service names")
    for name, folder in folders.items():
        if name not in services:
            shutil.rmtree(folder)
            continue
        for packed in folder.rglob("*.json.gz"):
            packed.with_suffix("").write_bytes(gzip.decompress(packed.read_bytes()))
            packed.unlink()
    endpoints = data / "endpoints.json"
    document = json.loads(endpoints.read_text(encoding="utf-8"))
    for partition in document["partitions"]:
        partition["services"] = {name: entry for name, entry in partition["services"].items() if name in services}
    endpoints.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")


if __name__ == "__main__":
    trim(Path(sys.argv[1]), set(sys.argv[2:]))
