"""Settings: read once from the environment, validated as a whole, frozen. Secrets print masked."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from core import message_templates
from core.message_templates import Templates

Mode = Literal["demo", "production"]

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_COMPUTE_TYPES = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16", "bfloat16", "float32")


class Secret:
    """A value that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigError(Exception):
    """Every configuration problem found at once, one per line, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    mode: Mode = "demo"
    database_url: Secret | None = None
    migration_database_url: Secret | None = None  # the owner, for migrations; then the app's role owns nothing
    listen_database_url: Secret | None = None  # a session for the job queue's LISTEN (not through a tx pooler)
    db_pooler: str = "none"  # "transaction": DATABASE_URL is a transaction-pooling PgBouncer
    redis_url: Secret | None = None
    db_schema: str = "public"
    db_pool_min: int = 2
    db_pool_max: int = 20
    mllp_appliers: int = 2
    mllp_max_block_bytes: int = 16 * 1024 * 1024  # an ORU with an embedded PDF (OBX ED) runs to a few MiB
    mllp_report_ms: int = 5000  # how often a listener tells the operations page who is connected
    redis_prefix: str = "labpulse"
    redis_sentinels: tuple[tuple[str, int], ...] = ()  # find the master through these (REDIS_URL: db, password, TLS)
    redis_sentinel_master: str = "labpulse"
    node: str = ""  # this web process's name for the load balancer (teleconsult rooms); "": host:port
    data_dir: Path = Path(".labpulse")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    phone_region: str = "IN"
    field_keys: Mapping[str, Secret] = field(default_factory=dict)
    field_key_active: str | None = None
    lookup_key: Secret | None = None
    secret_key: Secret | None = None
    relay_poll_ms: int = 10
    staff_session_idle_minutes: int = 15
    staff_session_absolute_hours: int = 12
    allowed_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()  # addresses/networks whose X-Forwarded-For is believed; none by default
    ws_idle_seconds: int = 120
    serve_relay: bool = False
    simulate_seconds: int = 0
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: Secret | None = None
    oidc_role_claim: str = "roles"
    public_url: str | None = None  # how patients reach us (links in messages, the QR code); None: the request's
    files_dir: Path | None = None  # encrypted report files; None: <data_dir>/files
    file_store: str = "disk"  # where report files live: disk (files_dir) or postgres (every machine sees them)
    job_heartbeat_seconds: int = 30  # a worker silent this long is presumed dead; its job runs again elsewhere
    escalation_tick_seconds: int = 30  # how often unacknowledged critical values are looked at
    job_retries: int = 6
    twilio_account_sid: str | None = None
    twilio_auth_token: Secret | None = None  # unset: the WhatsApp/SMS webhook answers 503 (not set up)
    twilio_sms_from: str | None = None  # our SMS number (E.164)
    twilio_whatsapp_from: str | None = None  # our WhatsApp sender (E.164, without "whatsapp:")
    templates: Templates = field(default_factory=Templates)  # WhatsApp and DLT templates per kind of message
    twilio_api_base: str | None = None  # another base URL for Twilio's REST API (a regional edge; the test stand-in)
    telegram_bot_token: Secret | None = None  # unset: the Telegram webhook answers 503 (not set up)
    telegram_webhook_secret: Secret | None = None  # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token
    telegram_api_base: str | None = None  # another Bot API server (self-hosted; the test stand-in)
    ambulance_number: str = "108"  # shown first on every emergency triage result
    # Teleconsult transcription (consult/transcribe.py). Nothing is ever downloaded: the model is a directory.
    whisper_model: Path | None = None  # a CTranslate2 Whisper model directory; None: the bundled tiny.en
    whisper_device: str = "cpu"  # cpu, cuda or auto
    whisper_compute_type: str = "int8"  # CTranslate2 quantisation: int8 on CPU (tiny.en RTF ~0.09: bench/transcribe.py)
    whisper_threads: int = 2  # CPU threads per transcription
    whisper_workers: int = 1  # transcriptions running at once in this process; the rest wait in line
    # Teleconsult ICE servers: STUN for discovery and TURN (e.g. coturn with use-auth-secret) for mobile networks
    # that block direct media; each join gets TURN credentials valid for turn_ttl_seconds (coturn's REST scheme).
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: Secret | None = None
    turn_ttl_seconds: int = 3600
    whisper_beam_size: int = 5  # 5 (as Whisper's own default): WER 17.5 -> 15.4 % at RTF 0.071 -> 0.115; 1: greedy

    @property
    def report_files_dir(self) -> Path:
        return self.files_dir or self.data_dir / "files"

    @property
    def node_name(self) -> str:
        """What the load balancer calls this web process (LABPULSE_NODE), else this host and port."""
        return self.node or f"{socket.gethostname()}:{self.port}"

    def link_base(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def uses_embedded_services(self) -> bool:
        return self.database_url is None or self.redis_url is None

    def field_key_bytes(self) -> dict[str, bytes]:
        return {kid: base64.b64decode(s.reveal()) for kid, s in self.field_keys.items()}

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _decode_key(name: str, value: str, problems: list[str]) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        problems.append(f"{name}: not valid base64 (generate one with: labpulse keys generate)")
        return
    if len(raw) != 32:
        problems.append(f"{name}: must decode to 32 bytes (AES-256), got {len(raw)}")


def _sentinels(raw: str, problems: list[str]) -> tuple[tuple[str, int], ...]:
    """``host:port,host:port`` (LABPULSE_REDIS_SENTINELS): the Redis Sentinels that know where the master is."""
    out = []
    for item in (part.strip() for part in raw.split(",") if part.strip()):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(f"LABPULSE_REDIS_SENTINELS: host:port pairs separated by commas, got {item!r}")
            continue
        out.append((host.strip("[]"), int(port)))
    return tuple(out)


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int, problems: list[str]) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}: expected a whole number, got {raw!r}")
        return default
    if not lo <= value <= hi:
        problems.append(f"{name}: must be between {lo} and {hi}, got {value}")
    return value


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], problems: list[str]) -> Secret | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    scheme = urlsplit(raw).scheme
    if scheme not in schemes:
        problems.append(f"{name}: scheme must be one of {', '.join(schemes)}, got {scheme or 'none'!r}")
    return Secret(raw)


def _loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from environment variables, reporting every bad or missing value in one ConfigError.

    Demo mode may leave secrets unset (the CLI then creates random ones under the data folder); production
    mode requires every URL and secret, so nothing sensitive ever runs on a default.
    """
    problems: list[str] = []
    mode_raw = env.get("LABPULSE_MODE", "demo").strip().lower()
    if mode_raw not in ("demo", "production"):
        problems.append(f"LABPULSE_MODE: must be 'demo' or 'production', got {mode_raw!r}")
        mode_raw = "production"  # validate as strictly as possible
    mode: Mode = "demo" if mode_raw == "demo" else "production"

    database_url = _url(env, "DATABASE_URL", ("postgres", "postgresql"), problems)
    migration_url = _url(env, "LABPULSE_MIGRATION_DATABASE_URL", ("postgres", "postgresql"), problems)
    listen_url = _url(env, "LABPULSE_LISTEN_DATABASE_URL", ("postgres", "postgresql"), problems)
    pooler = env.get("LABPULSE_DB_POOLER", "none").strip().lower() or "none"
    if pooler not in ("none", "transaction"):
        problems.append(f"LABPULSE_DB_POOLER: none or transaction, got {pooler!r}")
    elif pooler == "transaction":  # what needs a session of its own cannot go through the pooler
        for name, given in (("LABPULSE_MIGRATION_DATABASE_URL", migration_url), ("LABPULSE_LISTEN_DATABASE_URL",
                                                                                 listen_url)):  # fmt: skip
            if given is None:
                problems.append(f"{name}: required with LABPULSE_DB_POOLER=transaction (a direct or session-mode "
                                "URL: migrations hold a session lock, the job queue LISTENs)")  # fmt: skip
    redis_url = _url(env, "REDIS_URL", ("redis", "rediss", "unix"), problems)

    schema = env.get("LABPULSE_DB_SCHEMA", "public")
    if not _IDENT.match(schema):
        problems.append(f"LABPULSE_DB_SCHEMA: must be a lower-case SQL identifier, got {schema!r}")
    prefix = env.get("LABPULSE_REDIS_PREFIX", "labpulse")
    if not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", prefix):
        problems.append(f"LABPULSE_REDIS_PREFIX: letters, digits and _.:- only (1-64), got {prefix!r}")

    pool_min = _int(env, "LABPULSE_DB_POOL_MIN", 2, 1, 100, problems)
    pool_max = _int(env, "LABPULSE_DB_POOL_MAX", 20, 1, 500, problems)
    mllp_appliers = _int(env, "LABPULSE_MLLP_APPLIERS", 2, 1, 64, problems)
    mllp_max_block = _int(
        env, "LABPULSE_MLLP_MAX_BLOCK_BYTES", 16 * 1024 * 1024, 64 * 1024, 256 * 1024 * 1024, problems
    )
    mllp_report_ms = _int(env, "LABPULSE_MLLP_REPORT_MS", 5000, 100, 60_000, problems)
    if pool_min > pool_max:
        problems.append(f"LABPULSE_DB_POOL_MIN ({pool_min}) is larger than LABPULSE_DB_POOL_MAX ({pool_max})")
    port = _int(env, "LABPULSE_PORT", 8000, 1, 65535, problems)
    relay_poll_ms = _int(env, "LABPULSE_RELAY_POLL_MS", 10, 1, 10_000, problems)
    sentinels = _sentinels(env.get("LABPULSE_REDIS_SENTINELS", ""), problems)
    sentinel_master = env.get("LABPULSE_REDIS_SENTINEL_MASTER", "labpulse").strip()
    if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", sentinel_master):
        problems.append(f"LABPULSE_REDIS_SENTINEL_MASTER: a name of letters, digits and _.-, got {sentinel_master!r}")
    node = env.get("LABPULSE_NODE", "").strip()
    if node and not re.match(r"^[A-Za-z0-9_.:-]{1,64}$", node):
        problems.append(f"LABPULSE_NODE: letters, digits and _.:- only (1-64), got {node!r}")
    file_store = env.get("LABPULSE_FILE_STORE", "disk").strip().lower() or "disk"
    if file_store not in ("disk", "postgres"):
        problems.append(f"LABPULSE_FILE_STORE: disk or postgres, got {file_store!r}")
    escalation_tick = _int(env, "LABPULSE_ESCALATION_TICK_SECONDS", 30, 1, 300, problems)
    idle = _int(env, "LABPULSE_STAFF_SESSION_IDLE_MINUTES", 15, 1, 24 * 60, problems)
    absolute = _int(env, "LABPULSE_STAFF_SESSION_ABSOLUTE_HOURS", 12, 1, 24 * 7, problems)

    ws_idle = _int(env, "LABPULSE_WS_IDLE_SECONDS", 120, 5, 3600, problems)
    simulate = _int(env, "LABPULSE_SIMULATE_SECONDS", 6 if mode == "demo" else 0, 0, 3600, problems)
    if simulate and mode != "demo":
        problems.append("LABPULSE_SIMULATE_SECONDS: the simulated lab runs only in demo mode; set it to 0")
    relay_raw = env.get("LABPULSE_SERVE_RELAY", "on" if mode == "demo" else "off").strip().lower()
    if relay_raw not in ("on", "off"):
        problems.append(f"LABPULSE_SERVE_RELAY: 'on' or 'off', got {relay_raw!r}")
    origins = tuple(o.strip().rstrip("/") for o in env.get("LABPULSE_ALLOWED_ORIGINS", "").split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            problems.append(f"LABPULSE_ALLOWED_ORIGINS: {origin!r} is not an origin such as https://portal.example")

    proxies = tuple(p.strip() for p in env.get("LABPULSE_TRUSTED_PROXIES", "").split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            problems.append(f"LABPULSE_TRUSTED_PROXIES: {proxy!r} is not an address or network such as 10.0.0.0/8")

    oidc_issuer = env.get("LABPULSE_OIDC_ISSUER", "").strip().rstrip("/") or None
    oidc_client_id = env.get("LABPULSE_OIDC_CLIENT_ID", "").strip() or None
    oidc_secret = env.get("LABPULSE_OIDC_CLIENT_SECRET", "") or None
    oidc_role_claim = env.get("LABPULSE_OIDC_ROLE_CLAIM", "roles").strip() or "roles"
    if oidc_issuer is not None:
        if urlsplit(oidc_issuer).scheme not in ("https", "http"):
            problems.append(f"LABPULSE_OIDC_ISSUER: an https:// issuer URL, got {oidc_issuer!r}")
        elif urlsplit(oidc_issuer).scheme == "http" and mode == "production" and not _loopback(oidc_issuer):
            problems.append("LABPULSE_OIDC_ISSUER: must be https:// in production")
        for name, value in (("LABPULSE_OIDC_CLIENT_ID", oidc_client_id), ("LABPULSE_OIDC_CLIENT_SECRET", oidc_secret)):
            if not value:
                problems.append(f"{name}: required when LABPULSE_OIDC_ISSUER is set")
    elif oidc_client_id or oidc_secret:
        problems.append("LABPULSE_OIDC_ISSUER: required when an OIDC client id or secret is set")

    public_url = env.get("LABPULSE_PUBLIC_URL", "").strip().rstrip("/") or None
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"LABPULSE_PUBLIC_URL: an address such as https://reports.example.in, got {public_url!r}")
    heartbeat = _int(env, "LABPULSE_JOB_HEARTBEAT_SECONDS", 30, 1, 3600, problems)
    twilio_sid = env.get("TWILIO_ACCOUNT_SID", "").strip() or None
    twilio_token = env.get("TWILIO_AUTH_TOKEN", "").strip() or None
    if bool(twilio_sid) != bool(twilio_token):
        problems.append("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN: set both or neither")
    ambulance = env.get("LABPULSE_AMBULANCE_NUMBER", "108").strip()
    if not re.match(r"^\+?[0-9][0-9 -]{1,18}$", ambulance):
        problems.append(f"LABPULSE_AMBULANCE_NUMBER: a phone number such as 108 or 112, got {ambulance!r}")
    tg_token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    tg_secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
    if tg_token and not (tg_secret and re.match(r"^[A-Za-z0-9_-]{16,256}$", tg_secret)):
        problems.append("TELEGRAM_WEBHOOK_SECRET: 16-256 of A-Z a-z 0-9 _ - (required with TELEGRAM_BOT_TOKEN)")
    senders = {name: env.get(name, "").strip() or None for name in ("TWILIO_SMS_FROM", "TWILIO_WHATSAPP_FROM")}
    for name, value in senders.items():
        if value and not re.match(r"^\+[1-9][0-9]{6,14}$", value):
            problems.append(f"{name}: an E.164 number such as +14155550100, got {value!r}")
    job_retries = _int(env, "LABPULSE_JOB_RETRIES", 6, 0, 30, problems)
    whisper_model = env.get("LABPULSE_WHISPER_MODEL", "").strip() or None
    if whisper_model is not None and not (Path(whisper_model) / "model.bin").is_file():
        problems.append(
            f"LABPULSE_WHISPER_MODEL: a CTranslate2 Whisper model directory (with model.bin; nothing is downloaded), "
            f"got {whisper_model!r}"
        )
    whisper_device = env.get("LABPULSE_WHISPER_DEVICE", "cpu").strip().lower()
    if whisper_device not in ("cpu", "cuda", "auto"):
        problems.append(f"LABPULSE_WHISPER_DEVICE: one of cpu, cuda, auto; got {whisper_device!r}")
    whisper_compute = env.get("LABPULSE_WHISPER_COMPUTE_TYPE", "int8").strip().lower()
    if whisper_compute not in _COMPUTE_TYPES:
        problems.append(f"LABPULSE_WHISPER_COMPUTE_TYPE: one of {', '.join(_COMPUTE_TYPES)}; got {whisper_compute!r}")
    whisper_threads = _int(env, "LABPULSE_WHISPER_THREADS", 2, 1, 64, problems)
    whisper_workers = _int(env, "LABPULSE_WHISPER_WORKERS", 1, 1, 16, problems)
    whisper_beam = _int(env, "LABPULSE_WHISPER_BEAM_SIZE", 5, 1, 10, problems)
    stun_urls = tuple(u.strip() for u in env.get("LABPULSE_STUN_URLS", "").split(",") if u.strip())
    turn_urls = tuple(u.strip() for u in env.get("LABPULSE_TURN_URLS", "").split(",") if u.strip())
    for name, urls, schemes in (("LABPULSE_STUN_URLS", stun_urls, ("stun:", "stuns:")),
                                ("LABPULSE_TURN_URLS", turn_urls, ("turn:", "turns:"))):  # fmt: skip
        bad = [u for u in urls if not u.startswith(schemes) or len(u) > 200]
        if bad:
            problems.append(f"{name}: comma-separated {' or '.join(schemes)} URLs, got {bad[0]!r}")
    turn_secret = env.get("LABPULSE_TURN_SECRET", "").strip() or None
    if bool(turn_urls) != bool(turn_secret):
        problems.append(
            "LABPULSE_TURN_URLS and LABPULSE_TURN_SECRET: set both or neither (coturn's static-auth-secret)"
        )
    turn_ttl = _int(env, "LABPULSE_TURN_TTL_SECONDS", 3600, 300, 86400, problems)

    log_level = env.get("LABPULSE_LOG_LEVEL", "info").lower()
    if log_level not in ("debug", "info", "warning", "error"):
        problems.append(f"LABPULSE_LOG_LEVEL: one of debug, info, warning, error; got {log_level!r}")
    region = env.get("LABPULSE_PHONE_REGION", "IN").upper()
    if not re.match(r"^[A-Z]{2}$", region):
        problems.append(f"LABPULSE_PHONE_REGION: a two-letter country code such as IN, got {region!r}")

    field_keys: dict[str, Secret] = {}
    raw_keys = env.get("LABPULSE_FIELD_KEYS", "").strip()
    if raw_keys:
        for part in raw_keys.split(","):
            kid, sep, value = part.strip().partition(":")
            if not sep or not _KEY_ID.match(kid):
                problems.append(
                    "LABPULSE_FIELD_KEYS: each entry must be KEY_ID:BASE64 (key id: 1-32 of A-Z a-z 0-9 _ . -)"
                )
                continue
            if kid in field_keys:
                problems.append(f"LABPULSE_FIELD_KEYS: key id {kid!r} appears twice")
            _decode_key(f"LABPULSE_FIELD_KEYS[{kid}]", value, problems)
            field_keys[kid] = Secret(value)
    active = env.get("LABPULSE_FIELD_KEY_ACTIVE") or (next(iter(field_keys)) if field_keys else None)
    if active is not None and field_keys and active not in field_keys:
        problems.append(f"LABPULSE_FIELD_KEY_ACTIVE: {active!r} is not one of the ids in LABPULSE_FIELD_KEYS")

    lookup_key = env.get("LABPULSE_LOOKUP_KEY")
    if lookup_key:
        _decode_key("LABPULSE_LOOKUP_KEY", lookup_key, problems)
    secret_key = env.get("LABPULSE_SECRET_KEY")
    if secret_key is not None and len(secret_key) < 32:
        problems.append("LABPULSE_SECRET_KEY: must be at least 32 characters")

    templates = message_templates.from_env(env, problems, production=mode == "production",
                                           sms=bool(senders["TWILIO_SMS_FROM"]),
                                           whatsapp=bool(senders["TWILIO_WHATSAPP_FROM"]))  # fmt: skip
    if mode == "production":
        for name, present in (
            ("DATABASE_URL", database_url is not None),
            ("REDIS_URL", redis_url is not None),
            ("LABPULSE_FIELD_KEYS", bool(field_keys)),
            ("LABPULSE_LOOKUP_KEY", bool(lookup_key)),
            ("LABPULSE_SECRET_KEY", bool(secret_key)),
        ):
            if not present:
                problems.append(f"{name}: required in production mode (LABPULSE_MODE=production)")

    if problems:
        raise ConfigError(problems)
    return Settings(
        mode=mode,
        database_url=database_url,
        migration_database_url=migration_url,
        listen_database_url=listen_url,
        db_pooler=pooler,
        redis_url=redis_url,
        db_schema=schema,
        db_pool_min=pool_min,
        db_pool_max=pool_max,
        mllp_appliers=mllp_appliers,
        mllp_max_block_bytes=mllp_max_block,
        mllp_report_ms=mllp_report_ms,
        redis_prefix=prefix,
        data_dir=Path(env.get("LABPULSE_DATA_DIR", ".labpulse")),
        host=env.get("LABPULSE_HOST", "127.0.0.1"),
        port=port,
        log_level=log_level,
        phone_region=region,
        field_keys=field_keys,
        field_key_active=active,
        lookup_key=Secret(lookup_key) if lookup_key else None,
        secret_key=Secret(secret_key) if secret_key else None,
        relay_poll_ms=relay_poll_ms,
        staff_session_idle_minutes=idle,
        staff_session_absolute_hours=absolute,
        allowed_origins=origins,
        trusted_proxies=proxies,
        ws_idle_seconds=ws_idle,
        serve_relay=relay_raw == "on",
        simulate_seconds=simulate,
        oidc_issuer=oidc_issuer,
        oidc_client_id=oidc_client_id,
        oidc_client_secret=Secret(oidc_secret) if oidc_secret else None,
        oidc_role_claim=oidc_role_claim,
        public_url=public_url,
        files_dir=Path(env["LABPULSE_FILES_DIR"]) if env.get("LABPULSE_FILES_DIR") else None,
        file_store=file_store,
        redis_sentinels=sentinels,
        redis_sentinel_master=sentinel_master,
        node=node,
        job_heartbeat_seconds=heartbeat,
        escalation_tick_seconds=escalation_tick,
        job_retries=job_retries,
        twilio_account_sid=twilio_sid,
        twilio_auth_token=Secret(twilio_token) if twilio_token else None,
        twilio_sms_from=senders["TWILIO_SMS_FROM"],
        twilio_whatsapp_from=senders["TWILIO_WHATSAPP_FROM"],
        templates=templates,
        twilio_api_base=env.get("TWILIO_API_BASE", "").strip() or None,
        telegram_bot_token=Secret(tg_token) if tg_token else None,
        telegram_webhook_secret=Secret(tg_secret) if tg_secret else None,
        telegram_api_base=env.get("TELEGRAM_API_BASE", "").strip() or None,
        ambulance_number=ambulance,
        whisper_model=Path(whisper_model) if whisper_model else None,
        whisper_device=whisper_device,
        whisper_compute_type=whisper_compute,
        whisper_threads=whisper_threads,
        whisper_workers=whisper_workers,
        whisper_beam_size=whisper_beam,
        stun_urls=stun_urls,
        turn_urls=turn_urls,
        turn_secret=Secret(turn_secret) if turn_secret else None,
        turn_ttl_seconds=turn_ttl,
    )
