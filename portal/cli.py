"""The ``labpulse`` command: the processes (serve, worker, mllp), migrate and the demo seed, and the parser that
also takes the operator's tools (portal/cli_tools.py). What every command runs in is portal/cli_env.py."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence

from core.errors import DomainError
from portal import cli_tools
from portal.cli_env import migrate_db, seed_demo, services
from portal.logs import configure_logging

log = logging.getLogger("labpulse.cli")


def cmd_migrate(args: argparse.Namespace) -> int:
    with services() as settings:
        applied = asyncio.run(migrate_db(settings))
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    with services() as settings:
        asyncio.run(migrate_db(settings))
        asyncio.run(seed_demo(settings))
    return 0


def lan_urls(host: str, port: int) -> list[str]:
    """The addresses a phone on the same network can open, when the server listens on every interface."""
    if host not in ("0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
        return []
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    found = sorted({str(info[4][0]) for info in infos} - {"127.0.0.1", "127.0.1.1"})
    return [f"http://{ip}:{port}/" for ip in found]


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    # uvicorn shuts down on SIGTERM, then re-raises it under the handler that was there before it started. With
    # the default handler the process would die on the spot and skip services()' cleanup (an embedded
    # PostgreSQL left running); this one unwinds instead, so everything is stopped and the exit status is 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with services() as settings:
        asyncio.run(migrate_db(settings))
        if settings.mode == "demo" and not args.no_demo_data:
            asyncio.run(seed_demo(settings))
        host = args.host or settings.host
        port = args.port or settings.port
        print(f"labpulse is serving on http://{host}:{port}  (ready: http://{host}:{port}/readyz)", flush=True)
        if settings.mode == "demo":
            print(
                f"Patient portal: http://{host}:{port}/ - sign in with 98000 00001 (a family of two) or 98000 00002;"
                " the one-time code is printed here. A simulated lab moves a demo tube every"
                f" {settings.simulate_seconds} s.",
                flush=True,
            )
            for url in lan_urls(host, port):
                print(f"On a phone on the same network: {url}", flush=True)
        uvicorn.run(
            "portal.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            ws="websockets-sansio",
            ws_max_size=64 * 1024,  # the status socket's frame cap; uvicorn closes bigger ones with 1009
            ws_per_message_deflate=False,  # ~34 KiB less per socket; status frames are small
            # X-Forwarded-For is believed only from the proxies named in LABPULSE_TRUSTED_PROXIES (none by default).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=list(settings.trusted_proxies) or None,
            log_level=settings.log_level,
            log_config=None,
            access_log=False,
        )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from portal import worker  # the messaging clients load only for the processes that send

    with services() as settings:
        asyncio.run(migrate_db(settings))
        asyncio.run(worker.run(settings, health=args.health_port))
    return 0


def cmd_mllp(args: argparse.Namespace) -> int:
    from portal import mllp

    with services() as settings:
        asyncio.run(migrate_db(settings))
        host = args.host or settings.host
        print(f"labpulse MLLP listener on {host}:{args.port}", flush=True)
        asyncio.run(mllp.serve(settings, host, args.port, reuse_port=args.reuse_port, health=args.health_port))
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    from portal.drill.run import drill  # HAProxy, PgBouncer and the stand-ins load only for the drill

    logging.getLogger("httpx").setLevel(logging.WARNING)  # the drill's own requests: thousands, and all in its tally
    logging.getLogger("uvicorn").setLevel(logging.WARNING)  # the stand-ins' server

    verdict = asyncio.run(drill(args.seconds, rate=args.rate, seed=args.seed, keep=args.keep))
    return 0 if not verdict.lost and not verdict.duplicated else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labpulse", description="labpulse lab portal server and tools")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server (embedded PostgreSQL/Redis when no URLs are set)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--no-demo-data", action="store_true", help="do not seed demo data in demo mode")
    serve.set_defaults(func=cmd_serve)

    worker_p = sub.add_parser("worker", help="the outbox relay, job queue, sweep and critical-value escalation")
    worker_p.add_argument("--health-port", type=int, help="answer /healthz, /readyz and /metrics on this port")
    worker_p.set_defaults(func=cmd_worker)
    mllp_p = sub.add_parser("mllp", help="the HL7 v2 listener (MLLP) for analyzers and the LIS")
    mllp_p.add_argument("--host")
    mllp_p.add_argument("--port", type=int, default=2575)
    mllp_p.add_argument(
        "--reuse-port", action="store_true", help="share the port with other `labpulse mllp` processes (one per core)"
    )
    mllp_p.add_argument("--health-port", type=int, help="answer /healthz, /readyz and /metrics on this port")
    mllp_p.set_defaults(func=cmd_mllp)
    drill_p = sub.add_parser(
        "drill",
        help="fault drill: a day of load on 2 web + 2 workers + 1 MLLP while processes, PostgreSQL, Redis"
        " and the providers fail; exits 1 if anything was lost or duplicated",
    )
    drill_p.add_argument("--seconds", type=float, default=120, help="how long the load and the faults last")
    drill_p.add_argument("--rate", type=float, default=1.0, help="new patients a second")
    drill_p.add_argument("--seed", type=int, help="the faults' random order, to repeat a run")
    drill_p.add_argument("--keep", action="store_true", help="keep the processes' logs even when all went well")
    drill_p.set_defaults(func=cmd_drill)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="seed synthetic demo data").set_defaults(func=cmd_demo)

    cli_tools.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(os.environ.get("LABPULSE_LOG_LEVEL", "info"))
    try:
        result: int = args.func(args)
    except DomainError as exc:  # an operator's mistake: say what is wrong, no traceback
        print(f"labpulse: {exc.message}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
