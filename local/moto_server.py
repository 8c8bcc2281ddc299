"""``python -m local.moto_server -p PORT``: moto's server, one request at a time.

``make run`` starts this in a process of its own, so moto's CPU work does not hold the
gateway's GIL and concurrent writes behave as on (linearizable) DynamoDB.
"""

from __future__ import annotations

import argparse
import threading

from local.aws import start_moto


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    start_moto(port=args.port, serialized=True)
    threading.Event().wait()  # serve until terminated


if __name__ == "__main__":
    main()
