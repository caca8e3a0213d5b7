"""The operator's tools of the ``labpulse`` command: the audit log's check, staff accounts and contacts, patients
import, the critical-value escalation chain, the Telegram webhook, encryption keys, and sending HL7 over MLLP as an
analyzer would. ``register`` adds them to the command's parser."""

from __future__ import annotations

import argparse
import asyncio
import base64
import getpass
import sys
from pathlib import Path

from core import audit, critical, keys
from core.config import Settings
from core.crypto import generate_key
from core.db.pool import pool_from_settings
from core.errors import InvalidInput
from core.identity import Actor, Role
from core.notify import mask_phone
from core.patients import importer
from core.staff import service as staff
from core.storage import file_store
from core.vault import Vault
from portal.cli_env import connect_db, services


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


async def _verify(settings: Settings) -> audit.VerifyReport:
    conn = await connect_db(settings)
    key = audit.seal_key(settings.secret_key.reveal()) if settings.secret_key else None
    try:
        return await audit.verify(conn, key=key)
    finally:
        await conn.close()


def cmd_audit_verify(args: argparse.Namespace) -> int:
    with services() as settings:
        report = asyncio.run(_verify(settings))
    if report.ok:
        print(f"audit chain intact: {report.rows} rows, head {report.head_hash}")
        return 0
    print(f"AUDIT CHAIN BROKEN: {report.problem} ({report.rows} rows verified before it)")
    return 1


async def _staff_add(settings: Settings, username: str, display_name: str, role: Role, password: str) -> None:
    conn = await connect_db(settings)
    try:
        await staff.add(
            conn, username=username, display_name=display_name, role=role, password=password, actor=Actor.system("cli")
        )
    finally:
        await conn.close()


async def _staff_contact(settings: Settings, username: str, phone: str | None, channel: str) -> None:
    conn = await connect_db(settings)
    try:
        await staff.set_contact(conn, Vault.from_settings(settings), username=username, phone=phone, channel=channel,
                                actor=Actor.system("cli"))  # fmt: skip
    finally:
        await conn.close()


def cmd_staff_contact(args: argparse.Namespace) -> int:
    with services() as settings:
        asyncio.run(_staff_contact(settings, args.username, args.phone or None, args.channel))
    print(f"'{args.username.lower()}' is reached by {args.channel}" if args.phone else "phone removed")
    return 0


def cmd_staff_add(args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password (12+ characters): ")
    with services() as settings:
        asyncio.run(_staff_add(settings, args.username, args.display_name or args.username, Role(args.role), password))
    print(f"staff account '{args.username.lower()}' added with role {args.role}")
    return 0


async def _patients_import(settings: Settings, text: str, dry_run: bool) -> importer.ImportReport:
    conn = await connect_db(settings)
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
    with services() as settings:
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
    conn = await connect_db(settings)
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
    with services() as settings:
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
    with services() as settings:
        url = asyncio.run(_telegram_set_webhook(settings))
    print(f"Telegram will post updates to {url}")
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    print(base64.b64encode(generate_key()).decode())
    return 0


async def _keys(settings: Settings, action: str, batch_size: int) -> None:
    conn = await connect_db(settings)
    store = file_store(settings.file_store, settings.report_files_dir, conn)
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
    with services() as settings:
        asyncio.run(_keys(settings, "rotate", args.batch_size))
    return 0


def cmd_keys_status(args: argparse.Namespace) -> int:
    with services() as settings:
        asyncio.run(_keys(settings, "status", 0))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the operator's tools to the ``labpulse`` parser."""
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
