"""The ``labpulse`` command: serve, worker, migrate, demo, audit verify, staff add, keys generate."""

from __future__ import annotations

import argparse
import asyncio
import base64
import getpass
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from core import audit, critical, keys
from core.config import ConfigError, Secret, Settings, load_settings
from core.crypto import generate_key
from core.db.migrate import migrate
from core.db.pool import connect, pool_from_settings
from core.embedded import EmbeddedServices, start_embedded, with_demo_secrets
from core.errors import DomainError, InvalidInput
from core.identity import Actor, Role
from core.notify import mask_phone
from core.patients import importer
from core.staff import service as staff
from core.storage import LocalFileStore
from core.vault import Vault
from portal.logs import configure_logging

log = logging.getLogger("labpulse.cli")


def _settings() -> Settings:
    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from exc


def _resolve(settings: Settings) -> tuple[Settings, EmbeddedServices | None]:
    """Fill demo secrets and start embedded services when no URLs are configured; export them for workers."""
    settings = with_demo_secrets(settings)
    if settings.secret_key is not None:  # every audit row this command writes is sealed (core/audit.py)
        audit.use_key(audit.seal_key(settings.secret_key.reveal()))
    embedded = None
    if settings.uses_embedded_services:
        embedded = start_embedded(settings.data_dir)
        settings = settings.with_overrides(
            database_url=settings.database_url or Secret(embedded.database_url),
            redis_url=settings.redis_url or Secret(embedded.redis_url),
        )
    # uvicorn workers and child processes re-read the environment: hand them exactly what we resolved.
    env = {
        "DATABASE_URL": settings.database_url.reveal() if settings.database_url else "",
        "REDIS_URL": settings.redis_url.reveal() if settings.redis_url else "",
        "LABPULSE_FIELD_KEYS": ",".join(f"{k}:{v.reveal()}" for k, v in settings.field_keys.items()),
        "LABPULSE_FIELD_KEY_ACTIVE": settings.field_key_active or "",
        "LABPULSE_LOOKUP_KEY": settings.lookup_key.reveal() if settings.lookup_key else "",
        "LABPULSE_SECRET_KEY": settings.secret_key.reveal() if settings.secret_key else "",
    }
    os.environ.update({k: v for k, v in env.items() if v})
    return settings, embedded


@contextmanager
def _services() -> Iterator[Settings]:
    """Resolved settings for one command; embedded services (if started for it) stop when it ends."""
    settings, embedded = _resolve(_settings())
    try:
        yield settings
    finally:
        if embedded:
            embedded.stop()


async def _connect(settings: Settings) -> asyncpg.Connection:
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL is not resolved")
    return await connect(settings.database_url.reveal(), settings.db_schema)


async def _migrate(settings: Settings) -> list[str]:
    """Migrate as the owner: LABPULSE_MIGRATION_DATABASE_URL when set (the application's own role, which then
    owns nothing, is granted row access), else DATABASE_URL's role."""
    if settings.migration_database_url is None:
        conn = await _connect(settings)
        try:
            return await migrate(conn, settings.db_schema)
        finally:
            await conn.close()
    app = await _connect(settings)
    try:
        app_role = str(await app.fetchval("SELECT current_user"))
    finally:
        await app.close()
    owner = await connect(settings.migration_database_url.reveal(), settings.db_schema)
    try:
        return await migrate(owner, settings.db_schema, app_role=app_role)
    finally:
        await owner.close()


async def _seed(settings: Settings) -> None:
    from core.demo import ReportSigning, seed
    from core.reports import content as report_content

    secret = settings.secret_key.reveal() if settings.secret_key else ""
    signing = ReportSigning(report_content.signing_key(secret), settings.link_base())
    pool = await pool_from_settings(settings)
    try:
        async with pool.acquire() as conn:
            creds = await seed(conn, Vault.from_settings(settings), signing)
    finally:
        await pool.close()
    if creds:
        print("Demo data seeded. Staff sign-ins for this demo install (shown once):")
        for c in creds:
            print(f"  {c.role.value:15} {c.username:12} {c.password}")


def cmd_migrate(args: argparse.Namespace) -> int:
    with _services() as settings:
        applied = asyncio.run(_migrate(settings))
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    with _services() as settings:
        asyncio.run(_migrate(settings))
        asyncio.run(_seed(settings))
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


def hl7_messages(text: str) -> list[str]:
    """The messages of a file, one segment a line (any line ending): each message starts at an MSH segment."""
    messages: list[list[str]] = []
    for segment in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if segment.startswith("MSH|"):
            messages.append([])
        if segment.strip() and messages:
            messages[-1].append(segment)
    return ["\r".join(m) + "\r" for m in messages]


async def _hl7_send(messages: list[str], host: str, port: int) -> list[str]:
    from hl7.mllp import open_hl7_connection

    reader, writer = await open_hl7_connection(host, port)
    answers = []
    try:
        for message in messages:
            writer.writemessage(message)
            await writer.drain()
            ack = str(await asyncio.wait_for(reader.readmessage(), 30))
            msa = next((seg for seg in ack.split("\r") if seg.startswith("MSA")), "MSA|??")
            answers.append(msa.split("|")[1] + (f" ({msa.split('|')[3]})" if len(msa.split("|")) > 3 else ""))
    finally:
        writer.close()
    return answers


def cmd_hl7_send(args: argparse.Namespace) -> int:
    messages = hl7_messages(Path(args.file).read_text(encoding="utf-8"))
    if not messages:
        print(f"labpulse: {args.file} holds no HL7 message (each starts with an MSH segment)", file=sys.stderr)
        return 2
    try:
        answers = asyncio.run(_hl7_send(messages, args.host, args.port))
    except OSError as exc:
        print(f"labpulse: cannot reach the MLLP listener at {args.host}:{args.port} ({type(exc).__name__}); "
              "is 'labpulse mllp' (or ./run all) running?", file=sys.stderr)  # fmt: skip
        return 2
    for i, answer in enumerate(answers, 1):
        print(f"message {i}: {answer}")
    return 0 if all(a.startswith("AA") for a in answers) else 1


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    # uvicorn shuts down on SIGTERM, then re-raises it under the handler that was there before it started. With
    # the default handler the process would die on the spot and skip _services()' cleanup (an embedded
    # PostgreSQL left running); this one unwinds instead, so everything is stopped and the exit status is 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with _services() as settings:
        asyncio.run(_migrate(settings))
        if settings.mode == "demo" and not args.no_demo_data:
            asyncio.run(_seed(settings))
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

    with _services() as settings:
        asyncio.run(_migrate(settings))
        asyncio.run(worker.run(settings, health=args.health_port))
    return 0


def cmd_mllp(args: argparse.Namespace) -> int:
    from portal import mllp

    with _services() as settings:
        asyncio.run(_migrate(settings))
        host = args.host or settings.host
        print(f"labpulse MLLP listener on {host}:{args.port}", flush=True)
        asyncio.run(mllp.serve(settings, host, args.port, reuse_port=args.reuse_port, health=args.health_port))
    return 0


async def _verify(settings: Settings) -> audit.VerifyReport:
    conn = await _connect(settings)
    key = audit.seal_key(settings.secret_key.reveal()) if settings.secret_key else None
    try:
        return await audit.verify(conn, key=key)
    finally:
        await conn.close()


def cmd_audit_verify(args: argparse.Namespace) -> int:
    with _services() as settings:
        report = asyncio.run(_verify(settings))
    if report.ok:
        print(f"audit chain intact: {report.rows} rows, head {report.head_hash}")
        return 0
    print(f"AUDIT CHAIN BROKEN: {report.problem} ({report.rows} rows verified before it)")
    return 1


async def _staff_add(settings: Settings, username: str, display_name: str, role: Role, password: str) -> None:
    conn = await _connect(settings)
    try:
        await staff.add(
            conn, username=username, display_name=display_name, role=role, password=password, actor=Actor.system("cli")
        )
    finally:
        await conn.close()


async def _staff_contact(settings: Settings, username: str, phone: str | None, channel: str) -> None:
    conn = await _connect(settings)
    try:
        await staff.set_contact(conn, Vault.from_settings(settings), username=username, phone=phone, channel=channel,
                                actor=Actor.system("cli"))  # fmt: skip
    finally:
        await conn.close()


def cmd_staff_contact(args: argparse.Namespace) -> int:
    with _services() as settings:
        asyncio.run(_staff_contact(settings, args.username, args.phone or None, args.channel))
    print(f"'{args.username.lower()}' is reached by {args.channel}" if args.phone else "phone removed")
    return 0


def cmd_staff_add(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password (12+ characters): ")
    with _services() as settings:
        asyncio.run(_staff_add(settings, args.username, args.display_name or args.username, Role(args.role), password))
    print(f"staff account '{args.username.lower()}' added with role {args.role}")
    return 0


async def _patients_import(settings: Settings, text: str, dry_run: bool) -> importer.ImportReport:
    conn = await _connect(settings)
    try:
        return await importer.import_csv(conn, Vault.from_settings(settings), text, actor=Actor.system("cli.import"),
                                         dry_run=dry_run)  # fmt: skip
    finally:
        await conn.close()


def cmd_patients_import(args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"labpulse: cannot read {args.file}: {type(exc).__name__} (it must be a UTF-8 CSV file)", file=sys.stderr)
        return 2
    with _services() as settings:
        report = asyncio.run(_patients_import(settings, text, args.dry_run))
    for error in report.errors:
        print(f"line {error.line}: {error.reason}", file=sys.stderr)
    if report.errors:
        print(f"nothing imported: {len(report.errors)} of {report.rows} rows need fixing (listed above)",
              file=sys.stderr)  # fmt: skip
        return 1
    verb = "would be imported" if args.dry_run else "imported"
    print(
        f"{report.created} new patients {verb}; {report.already_present} already present (same MRN), left as they are"
    )
    return 0


async def _escalation(settings: Settings, entries: list[critical.ChainEntry] | None) -> list[critical.ChainMember]:
    conn = await _connect(settings)
    try:
        vault = Vault.from_settings(settings)
        if entries is not None:
            return await critical.set_chain_by_username(conn, vault, entries, Actor.system("cli.escalation"))
        return await critical.chain(conn, vault)
    finally:
        await conn.close()


def cmd_escalation(args: argparse.Namespace) -> int:
    entries = None
    if args.escalation_command == "set":
        entries = []
        for item in args.people:
            parts = item.split(":", 2)
            if len(parts) != 3:
                print(f"labpulse: {item!r} is not USERNAME:CHANNEL:PHONE (e.g. dr.rao:sms:+919800011111)",
                      file=sys.stderr)  # fmt: skip
                return 2
            entries.append(critical.ChainEntry(parts[0], parts[2], parts[1]))
    with _services() as settings:
        people = asyncio.run(_escalation(settings, entries))
    if not people:
        print("the escalation chain is empty: critical values reach nobody. Set it with: "
              "labpulse escalation set USERNAME:CHANNEL:PHONE …")  # fmt: skip
        return 1
    for i, member in enumerate(people, 1):
        print(f"{i}. {member.label} ({member.channel}, {mask_phone(member.phone)})")
    return 0


async def _telegram_set_webhook(settings: Settings) -> str:
    from bots import telegram_channel

    if settings.telegram_bot_token is None or settings.telegram_webhook_secret is None:
        raise InvalidInput("telegram", "Set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first.")
    if settings.public_url is None:
        raise InvalidInput("public_url", "Set LABPULSE_PUBLIC_URL to the https address Telegram should call.")
    pool = await pool_from_settings(settings)
    try:
        channel = telegram_channel.build(settings, None, pool, Vault.from_settings(settings))
        assert channel is not None  # noqa: S101 - the token is set
        url = f"{settings.public_url}/bots/telegram"
        await telegram_channel.set_webhook(channel, url, settings.telegram_webhook_secret.reveal())
        await channel.close()
    finally:
        await pool.close()
    return url


def cmd_telegram_set_webhook(args: argparse.Namespace) -> int:
    with _services() as settings:
        url = asyncio.run(_telegram_set_webhook(settings))
    print(f"Telegram will post updates to {url}")
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    print(base64.b64encode(generate_key()).decode())
    return 0


async def _keys(settings: Settings, action: str, batch_size: int) -> None:
    conn = await _connect(settings)
    store = LocalFileStore(settings.report_files_dir)
    try:
        vault = Vault.from_settings(settings)
        if action == "rotate":

            def show(p: keys.Progress) -> None:
                print(f"{p.table}: {p.done} rows re-encrypted, {p.left} left on other keys", flush=True)

            moved = await keys.rotate(conn, vault, batch_size=batch_size, progress=show)
            files = await keys.rotate_files(conn, vault, store)
            print(
                f"done: {moved} rows and {files} report files now under key {vault.cipher.active_key_id!r}", flush=True
            )
        status = {**await keys.status(conn), "report files": await keys.file_status(conn, store)}
        for table, counts in status.items():
            listed = ", ".join(f"{kid}: {n}" for kid, n in sorted(counts.items())) or "no encrypted values"
            print(f"{table}: {listed}")
    finally:
        await conn.close()


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    with _services() as settings:
        asyncio.run(_keys(settings, "rotate", args.batch_size))
    return 0


def cmd_keys_status(args: argparse.Namespace) -> int:
    with _services() as settings:
        asyncio.run(_keys(settings, "status", 0))
    return 0


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
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="seed synthetic demo data").set_defaults(func=cmd_demo)

    audit_p = sub.add_parser("audit", help="audit log tools")
    audit_sub = audit_p.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="verify the audit hash chain").set_defaults(func=cmd_audit_verify)

    staff_p = sub.add_parser("staff", help="staff accounts")
    staff_sub = staff_p.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="add a local staff account")
    add.add_argument("--username", required=True)
    add.add_argument("--display-name")
    add.add_argument("--role", required=True, choices=sorted(r.value for r in staff.STAFF_ROLES))
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_staff_add)
    contact = staff_sub.add_parser("contact", help="where a staff member is reached (a doctor's teleconsult links)")
    contact.add_argument("username")
    contact.add_argument("--phone", required=True, help="the phone number ('' removes it)")
    contact.add_argument("--channel", default="sms", choices=list(staff.CONTACT_CHANNELS))
    contact.set_defaults(func=cmd_staff_contact)

    patients_p = sub.add_parser("patients", help="patient records")
    patients_sub = patients_p.add_subparsers(dest="patients_command", required=True)
    imp = patients_sub.add_parser(
        "import", help="import a CSV (mrn,name,date_of_birth,sex,phone); idempotent by MRN, all or nothing"
    )
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check every row and count, but write nothing")
    imp.set_defaults(func=cmd_patients_import)

    hl7_p = sub.add_parser("hl7", help="HL7 v2 tools")
    hl7_sub = hl7_p.add_subparsers(dest="hl7_command", required=True)
    send = hl7_sub.add_parser("send", help="send a file of HL7 messages over MLLP, as an analyzer would; print ACKs")
    send.add_argument("file")
    send.add_argument("--host", default="127.0.0.1")
    send.add_argument("--port", type=int, default=2575)
    send.set_defaults(func=cmd_hl7_send)

    esc = sub.add_parser("escalation", help="who is called about critical values, in order")
    esc_sub = esc.add_subparsers(dest="escalation_command", required=True)
    esc_sub.add_parser("show", help="the chain in order (phones masked)").set_defaults(func=cmd_escalation)
    esc_set = esc_sub.add_parser("set", help="replace the chain: the on-duty doctor first")
    esc_set.add_argument("people", nargs="+", metavar="USERNAME:CHANNEL:PHONE", help="channel: sms, whatsapp, telegram")
    esc_set.set_defaults(func=cmd_escalation)

    tg = sub.add_parser("telegram", help="the Telegram bot")
    tg_sub = tg.add_subparsers(dest="telegram_command", required=True)
    tg_sub.add_parser(
        "set-webhook", help="register <LABPULSE_PUBLIC_URL>/bots/telegram and the secret token with Telegram"
    ).set_defaults(func=cmd_telegram_set_webhook)

    keys = sub.add_parser("keys", help="encryption keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("generate", help="print a new random 256-bit key (base64)").set_defaults(func=cmd_keys_generate)
    rotate = keys_sub.add_parser("rotate", help="re-encrypt every stored value under the active key (resumable)")
    rotate.add_argument("--batch-size", type=int, default=500)
    rotate.set_defaults(func=cmd_keys_rotate)
    keys_sub.add_parser("status", help="how many stored values each key id holds").set_defaults(func=cmd_keys_status)
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
