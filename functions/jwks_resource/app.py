"""CloudFormation custom resource ``Custom::UserPoolJwks``: the user pool's JWKS, at deploy time.

The functions that verify bearer tokens themselves (``courses_api.tokens``) run in a VPC
without NAT, so they cannot fetch Cognito's ``/.well-known/jwks.json``. CloudFormation runs
this function (outside the VPC) when the resource is created and whenever one of its
properties changes (``make deploy`` changes ``Refresh`` on every deploy); it fetches the JWKS
and returns it as the attribute ``Jwks``, which the template passes to them as ``TOKEN_JWKS``.

crhelper answers CloudFormation on every path, as the custom-resource protocol requires (a
resource never answered holds the stack for an hour): SUCCESS with the keys, FAILED with the
reason when the fetch or the document fails, FAILED just before the function would time
out, and SUCCESS on Delete (nothing was created: the keys belong to the pool).
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

from crhelper import CfnResource

FETCH_TIMEOUT_S = 10
MAX_DOCUMENT_BYTES = 64 * 1024
# Lambda's limit on a function's whole environment (names and values) is 4 KB; a custom
# resource's whole response to CloudFormation is 4,096 bytes too. Cognito "generates two pairs
# of RSA cryptographic keys for each user pool" (2048 bits): about 0.9 KB in compact JSON, with
# room for a third key during a rotation.
MAX_JWKS_BYTES = 1536
PUBLIC_FIELDS = ("alg", "e", "kid", "kty", "n", "use")

helper = CfnResource(json_logging=False, log_level="INFO", boto_level="CRITICAL", sleep_on_delete=0)


def compact_jwks(document: bytes) -> str:
    """The RSA signing keys of a JWKS document, public fields only, as compact JSON."""
    keys = json.loads(document).get("keys")
    if not isinstance(keys, list):
        raise ValueError("the document has no 'keys' list")
    kept = [
        {field: key[field] for field in PUBLIC_FIELDS if field in key}
        for key in keys
        if isinstance(key, dict) and key.get("kty") == "RSA" and key.get("use", "sig") == "sig" and key.get("kid")
    ]
    if not kept:
        raise ValueError("the JWKS holds no RSA signing key with a kid")
    compact = json.dumps({"keys": kept}, separators=(",", ":"), sort_keys=True)
    if len(compact.encode()) > MAX_JWKS_BYTES:
        raise ValueError(f"the JWKS is {len(compact.encode())} bytes, over {MAX_JWKS_BYTES} (the environment is 4 KB)")
    return compact


def fetch(url: str) -> str:
    """The compact JWKS at ``url`` (HTTPS only)."""
    if not url.startswith("https://"):
        raise ValueError(f"refusing to fetch keys over anything but HTTPS: {url}")
    verified = ssl.create_default_context()  # certificate and host name checked, whatever opener is installed
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S, context=verified) as response:  # noqa: S310 - https only
        document = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(document) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"the JWKS document is larger than {MAX_DOCUMENT_BYTES} bytes")
    return compact_jwks(document)


def create_or_update(event: dict[str, Any], _context: Any) -> str:
    """Fetch the keys into the ``Jwks`` attribute; the physical id is the URL, so an update keeps it."""
    url = str(event["ResourceProperties"]["JwksUrl"])
    helper.Data["Jwks"] = fetch(url)
    return url


def delete(_event: dict[str, Any], _context: Any) -> None:
    """Nothing to remove: the keys belong to the user pool."""


# Registered by call: crhelper's decorators are untyped.
helper.create(create_or_update)
helper.update(create_or_update)
helper.delete(delete)


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    """CloudFormation's request in; crhelper sends the answer to its pre-signed URL."""
    helper(event, context)
