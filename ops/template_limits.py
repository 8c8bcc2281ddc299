"""Print the transformed template's size and resource count against CloudFormation's quotas.

CloudFormation quotas: a template body of at most 1 MB when passed through S3 (as ``sam
deploy`` does; 51,200 bytes inline), and at most 500 resources. Exits 1 when either is
exceeded. Run by ``make deploy-check``.
"""

from __future__ import annotations

import json
import logging
import sys

from ops.cfn_template import load_source, transform

MAX_BODY_BYTES = 1_000_000
MAX_RESOURCES = 500


def main() -> int:
    logging.disable(logging.WARNING)  # the translator's notes on feature toggles are not for this report
    source = load_source()
    transformed = transform(source)
    size = len(json.dumps(transformed, separators=(",", ":")).encode())
    resources = len(transformed["Resources"])
    rows = [
        ("resources (template.yaml)", len(source["Resources"]), None),
        ("resources (after the SAM transform)", resources, MAX_RESOURCES),
        ("template body, bytes (after the SAM transform, compact JSON)", size, MAX_BODY_BYTES),
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, value, limit in rows:
        quota = f"of {limit:,} ({100 * value / limit:.1f}%)" if limit else ""
        print(f"  {name:<{width}}  {value:>9,}  {quota}")
    if resources > MAX_RESOURCES or size > MAX_BODY_BYTES:
        print("over a CloudFormation quota", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
