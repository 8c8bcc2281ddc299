"""``python -m local``: run the API locally, mint a token, or write the OpenAPI document.

    python -m local run                 # what `make run` does (PORT, REDIS_URL, SEED_COURSES, ...)
    python -m local token --sub alice --groups instructors,admins
    python -m local openapi --output docs/openapi.json
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from local.auth import DEFAULT_TTL_S, InsecureSecretError, LocalAuth, key_file
from local.template import REPO_ROOT


def _groups(raw: Sequence[str]) -> list[str]:
    return [group.strip() for value in raw for group in value.split(",") if group.strip()]


def cmd_token(args: argparse.Namespace) -> int:
    path = key_file()
    try:
        auth = LocalAuth.load(path)
    except FileNotFoundError:
        print(f"no signing key at {path}: start the API first (make run makes one per run)", file=sys.stderr)
        return 2
    print(auth.mint(args.sub, _groups(args.groups), ttl_s=args.ttl))
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from local.functions import load_functions
    from local.openapi import build_openapi, write_openapi
    from local.runtime import LOCAL_ENV_DEFAULTS, add_layers_to_path
    from local.specs import function_specs

    for name, value in LOCAL_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    specs = function_specs()
    add_layers_to_path(specs)
    pools = load_functions(specs, max_containers=1, warm=False)
    document = build_openapi(pools, [route for spec in specs.values() for route in spec.routes])
    output = Path(args.output)
    write_openapi(document, output)
    print(f"wrote {output} ({len(document.get('paths', {}))} paths)")
    return 0


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def cmd_run(args: argparse.Namespace) -> int:
    import uvicorn

    from local.apigw import api_settings
    from local.openapi import build_openapi
    from local.runtime import LocalRuntime, PortInUseError, RunOptions
    from local.server import GatewayConfig, LocalGateway, create_app
    from local.template import TEMPLATE_PATH, load_template

    # uvicorn re-raises SIGTERM after its graceful shutdown; as SystemExit it unwinds through
    # the ``finally`` below, so redis-server, moto and the containers are stopped too.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    options = RunOptions.from_env()
    if args.port is not None:
        options.port = args.port
    if args.host is not None:
        options.host = args.host
    if args.seed_courses is not None:
        options.seed_courses = args.seed_courses
    runtime = LocalRuntime(options)
    try:
        runtime.start()
    except (InsecureSecretError, PortInUseError) as error:
        print(f"refusing to start: {error}", file=sys.stderr)
        return 2
    try:
        gateway = LocalGateway(
            runtime.pools, runtime.routes,
            GatewayConfig(auth=runtime.auth, api=api_settings(load_template(TEMPLATE_PATH))),
        )
        app = create_app(gateway, lambda: build_openapi(runtime.pools, runtime.routes), runtime.status, runtime.drain)
        print(runtime.banner(f"http://{options.host}:{options.port}"), flush=True)
        config = uvicorn.Config(
            app, host=options.host, port=options.port, log_level="warning" if args.quiet else "info",
            access_log=not args.quiet, timeout_graceful_shutdown=5, server_header=False,
        )
        uvicorn.Server(config).run(sockets=[runtime.listener] if runtime.listener else None)
    finally:
        runtime.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>` dumps every thread's stack
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("werkzeug", "botocore.credentials"):  # moto's request log, boto's credential notice
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.chdir(REPO_ROOT)
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser("run", help="serve the API on http://127.0.0.1:$PORT")
    run.add_argument("--host", default=None, help="bind address (default 127.0.0.1; HOST)")
    run.add_argument("--port", type=int, default=None, help="port (default 3000; PORT)")
    run.add_argument("--seed-courses", type=int, default=None, help="sample courses (default 1000; SEED_COURSES)")
    run.add_argument("--quiet", action="store_true", help="no access log (for load tests)")
    run.set_defaults(func=cmd_run)

    token = commands.add_parser("token", help="print a bearer token signed with the running server's key")
    token.add_argument("--sub", required=True, help="the user id (Cognito sub)")
    token.add_argument("--groups", action="append", default=[], help="comma-separated groups, e.g. instructors")
    token.add_argument("--ttl", type=int, default=DEFAULT_TTL_S, help="seconds until it expires")
    token.set_defaults(func=cmd_token)

    openapi = commands.add_parser("openapi", help="write the merged OpenAPI document")
    openapi.add_argument("--output", default="docs/openapi.json")
    openapi.set_defaults(func=cmd_openapi)

    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
