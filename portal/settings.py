"""The one settings file: everything an operator may change comes from the environment.

The defaults give the embedded run (``make run``): SQLite in WAL mode under ``var/``, Celery on kombu's
filesystem transport under ``var/`` (no broker server), media under ``var/media``. Production sets
``DATABASE_URL`` (PostgreSQL through psycopg 3), ``REDIS_URL``, ``SECRET_KEY`` and ``DEBUG=False``.
Helpers are strict (healthchecks' ``envbool`` style): a value they cannot read is an error at start-up,
not a silent default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A setting from the environment; ``NAME_FILE`` (a path, for Docker secrets) wins over ``NAME``."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = env(name, default)
    if value not in ("True", "False"):
        raise ImproperlyConfigured(f"{name} must be True or False, not {value!r}")
    return value == "True"


def envint(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = env(name, str(default))
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


VAR_DIR = Path(env("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", "True")


def _secret_key() -> str:
    """Required in production; the embedded run generates one once and keeps it under var/."""
    key = env("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=False")
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "portal",
    "jobs",
    "albums",
    "tree",
    "sftpd",
    "ftpd",
    "devices",
    "subjects",
    "audit",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "webauth",  # after django_otp: it takes django-otp's device admin away again (webauth.apps)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the one chosen with the switch (set_language's cookie), else the browser's.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Writes during a request are recorded in the audit log as the logged-in user's, from its address.
    "audit.middleware.AuditActorMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Times on every page in the studio's zone (portal.timezones says which studio's).
    "portal.timezones.AccountTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "webauth.sessions.SessionLimitsMiddleware",  # after OTPMiddleware and MessageMiddleware
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Before the apps: portal/templates/admin/base_site.html adds the language switch to the admin frame.
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
# WAL lets the SFTP server, the worker and the web app read while one of them writes; IMMEDIATE
# transactions take the write lock up front so concurrent writers wait (timeout) instead of
# failing with "database is locked" half-way through a transaction.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "portal.sqlite3"),
            "OPTIONS": SQLITE_OPTIONS,
            # Kept open between calls, as on PostgreSQL: opening one costs the SFTP and FTP servers
            # a connect and the WAL pragmas on every file operation.
            "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            # A file (not :memory:) so the SFTP server's and worker's threads and child processes
            # share it; one per test process so parallel runs in one checkout do not collide.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Argon2id at OWASP's minimum (jobs.passwords) for FTP users and web users alike; hashes made by
# the PBKDF2 hashers before still verify and are rehashed on the next successful login.
PASSWORD_HASHERS = [
    "jobs.passwords.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]

# --- languages and time ------------------------------------------------------------------------
# The language before anyone says otherwise: of pages without a choice or browser preference, and of
# the doors' sentences before login (the account is not known yet). After login a door speaks the
# account's language (Account.language); pages speak the choice made with the language switch (a
# cookie, set by django.views.i18n.set_language), else the browser's Accept-Language.
LANGUAGE_CODE = env("LANGUAGE_CODE", "en")
# The studio-facing languages (DESIGN §6).
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}")
# One catalogue for the whole project (locale/de/LC_MESSAGES/django.po, compiled django.mo committed
# so a machine without gettext still speaks German); `make messages` refreshes both.
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # a choice made with the switch is kept a year
ACCOUNT_DEFAULT_LANGUAGE = env("ACCOUNT_DEFAULT_LANGUAGE", "en")
# New accounts' zone; each account's own zone is used on every page and in `manage.py uploads`.
ACCOUNT_DEFAULT_TIME_ZONE = env("ACCOUNT_DEFAULT_TIME_ZONE", "Europe/Berlin")
# The zone of what belongs to no account (logs, Celery's schedule); stored times are always UTC.
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": env("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGIN_URL = "admin:login"

# --- web security -----------------------------------------------------------------------------
# Every login passes the login guard the doors share (webauth.limits: LOGIN_BAN_* below apply to
# the web too); two-factor login (TOTP) is each user's choice (webauth.services).
AUTHENTICATION_BACKENDS = ["webauth.limits.GuardedModelBackend"]
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Photo job portal")
# WEB_HTTPS: browsers reach the site over HTTPS (directly or through the proxy): cookies are sent
# only over HTTPS and HSTS is announced. WEB_BEHIND_PROXY: a reverse proxy (nginx, HAProxy, Traefik)
# forwards the requests; it must set X-Forwarded-Proto and append the client to X-Forwarded-For,
# which then give the scheme and the address logins are counted and audited under.
WEB_HTTPS = envbool("WEB_HTTPS", "False")
WEB_BEHIND_PROXY = envbool("WEB_BEHIND_PROXY", "False")
if WEB_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = WEB_HTTPS
CSRF_COOKIE_SECURE = WEB_HTTPS
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "False")  # usually the proxy's job
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 365 * 24 * 3600) if WEB_HTTPS else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A login lasts a working day at most, and ends after WEB_SESSION_IDLE_SECONDS without a request
# (0: never); optionally when the browser closes (webauth.sessions).
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 10 * 3600)
WEB_SESSION_IDLE_SECONDS = envint("WEB_SESSION_IDLE_SECONDS", 2 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = envbool("SESSION_EXPIRE_AT_BROWSER_CLOSE", "False")
# Content-Security-Policy (django-csp): scripts only from our own static files (no inline script,
# no event handler attributes, no eval), nothing from other sites, no framing. Inline styles stay
# allowed: the admin's widgets and our templates set them, and they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],  # data: for the admin's icons and the two-factor QR code
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# The web app as runportal starts it (gunicorn); in Docker gunicorn is started by compose.
WEB_HOST = env("WEB_HOST", "127.0.0.1")
WEB_PORT = envint("WEB_PORT", 8000)
# Serve admin static files straight from the apps while developing; production runs collectstatic.
WHITENOISE_USE_FINDERS = DEBUG

# --- Celery -----------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):  # kombu expects the folders to exist
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu's filesystem transport cannot be woken: an idle worker looks at the queue folder
        # (one listdir per queue) this often, so a new upload waits up to this long before it is
        # taken (kombu's default: 1 s). At 0.05 s an idle worker costs under 1 % of a core
        # (bench.intake). A busy worker does not wait for it (FilesystemTransport).
        "polling_interval": envfloat("CELERY_FILESYSTEM_POLLING_INTERVAL", 0.05),
    }
    # kombu's transport, but handing a busy worker's loop back at once (its docstring).
    CELERY_BROKER_TRANSPORT = "portal.celery:FilesystemTransport"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Above the longest task (its hard time limit) and the longest retry countdown (checked
        # below) so Redis does not hand a running or waiting task to a second worker: with acks_late
        # an unacknowledged task is redelivered after this many seconds.
        "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600),
        # Queueing happens inside an SFTP close. redis-py waits forever by default; with these a
        # dead broker costs that close well under a second (refused), and a broker that accepts
        # connections but never answers one socket timeout (5 s measured; 2 x 5 s at most).
        "socket_connect_timeout": 3,
        "socket_timeout": 5,
    }
# Several portals (or test runs) can share one Redis by using their own queue.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "celery")
# One quick retry covers a pooled connection that went stale (Redis restarted); beyond that the
# upload stays "received" and the sweeper queues it (DESIGN §4: uploads succeed with Redis down).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1


def _cores() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (``docker --cpus``).

    Celery's own default counts the machine's CPUs, which in a container limited to 2 of 64
    would start 64 pool processes.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))  # rounded up
    except (OSError, ValueError):
        pass
    return cores


# One pool process per core: the image step is CPU-bound and single-threaded (albums.imaging),
# and each process holds one photo at a time (prefetch 1, acks_late). 0 or unset: the cores.
CELERY_WORKER_CONCURRENCY = envint("CELERY_WORKER_CONCURRENCY", 0) or _cores()
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 360)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE

# --- intake -----------------------------------------------------------------------------------
INTAKE_MAX_BYTES = envint("INTAKE_MAX_BYTES", 50 * 1024 * 1024)
INTAKE_MAX_PIXELS = envint("INTAKE_MAX_PIXELS", 100_000_000)
INTAKE_FORMATS = envlist("INTAKE_FORMATS", "JPEG,PNG")
INTAKE_MAX_ATTEMPTS = envint("INTAKE_MAX_ATTEMPTS", 5)
INTAKE_STUCK_AFTER = envint("INTAKE_STUCK_AFTER", 600)  # seconds before the sweeper re-queues
INTAKE_SWEEP_INTERVAL = envint("INTAKE_SWEEP_INTERVAL", 60)
# The bytes of deleted, replaced and rejected uploads are purged after this many days (rows stay).
INTAKE_RETENTION_DAYS = envint("INTAKE_RETENTION_DAYS", 30)
INTAKE_HOUSEKEEPING_INTERVAL = envint("INTAKE_HOUSEKEEPING_INTERVAL", 3600)  # seconds between runs
# Transient errors (database, storage) are retried after INTAKE_RETRY_DELAY seconds, doubling up to
# INTAKE_RETRY_DELAY_MAX, until INTAKE_MAX_ATTEMPTS is reached.
INTAKE_RETRY_DELAY = envint("INTAKE_RETRY_DELAY", 2)
INTAKE_RETRY_DELAY_MAX = envint("INTAKE_RETRY_DELAY_MAX", 300)

# QR-card subjects (DESIGN §10). The cards' MAC secret; empty: derived from SECRET_KEY (changing
# either makes printed cards unreadable as cards).
SUBJECTS_CARD_SECRET = env("SUBJECTS_CARD_SECRET", "")
# A gap longer than this between two photos of one subject flags it for review.
SUBJECTS_GAP_MINUTES = envint("SUBJECTS_GAP_MINUTES", 20)
# A subject with more than this many times the album's median number of photos is flagged.
SUBJECTS_MEDIAN_FACTOR = envint("SUBJECTS_MEDIAN_FACTOR", 3)
# The intake guarantees (DESIGN §4) rest on these orderings: refuse to start without them.
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_TASK_SOFT_TIME_LIMIT must be above 0 and below CELERY_TASK_TIME_LIMIT")
if INTAKE_STUCK_AFTER <= CELERY_TASK_TIME_LIMIT:
    # Otherwise the sweeper would hand a live (slow) run's upload to a second worker.
    raise ImproperlyConfigured("INTAKE_STUCK_AFTER must be above CELERY_TASK_TIME_LIMIT")
_visibility = CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
if isinstance(_visibility, int) and _visibility <= CELERY_TASK_TIME_LIMIT + INTAKE_RETRY_DELAY_MAX:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT + INTAKE_RETRY_DELAY_MAX")

# --- the tree (DESIGN §3), shared by every door -----------------------------------------------
# The tree on disk: what photographers see, under ids rather than names (renames are database
# changes only), and the staging folder of uploads in progress. Keep it on the same filesystem as
# MEDIA_ROOT so a finished upload is linked into storage rather than copied.
TREE_ROOT = Path(env("TREE_ROOT", str(VAR_DIR / "tree")))
TREE_MAX_FILE_BYTES = envint("TREE_MAX_FILE_BYTES", INTAKE_MAX_BYTES)  # larger writes are refused

# --- logins, for every door -------------------------------------------------------------------
# Failed password logins are counted per (address, username) and per address over
# LOGIN_BAN_WINDOW seconds; reaching a count bans that pair (or the whole address) for
# LOGIN_BAN_SECONDS. Attempts refused by a ban are not counted again, so one misconfigured camera
# behind a school's NAT bans only itself, never the other photographers at that address.
LOGIN_BAN_WINDOW = envint("LOGIN_BAN_WINDOW", 600)
LOGIN_BAN_USER_FAILURES = envint("LOGIN_BAN_USER_FAILURES", 5)
LOGIN_BAN_ADDRESS_FAILURES = envint("LOGIN_BAN_ADDRESS_FAILURES", 30)
LOGIN_BAN_SECONDS = envint("LOGIN_BAN_SECONDS", 900)
# Bans and session counts are shared through Redis when there is one (several servers), else kept
# in each process.
LOGIN_REDIS_URL = env("LOGIN_REDIS_URL", REDIS_URL)
LOGIN_REDIS_PREFIX = env("LOGIN_REDIS_PREFIX", "login:")
# Seconds a login waits for Redis at most; after a failure Redis is left alone for 10 s.
LOGIN_REDIS_TIMEOUT = envfloat("LOGIN_REDIS_TIMEOUT", 0.25)
LOGIN_MAX_AUTH_TRIES = envint("LOGIN_MAX_AUTH_TRIES", 6)  # failed attempts on one connection
# rclone opens up to --transfers + --checkers (12) connections at once; FileZilla up to 10.
LOGIN_MAX_SESSIONS_PER_USER = envint("LOGIN_MAX_SESSIONS_PER_USER", 20)
LOGIN_MAX_UNAUTH_PER_ADDRESS = envint("LOGIN_MAX_UNAUTH_PER_ADDRESS", 20)  # per server process
# Seconds a verified FTP password is remembered (a keyed hash, never the password) in each server
# process, so a client's several connections cost one hash check; 0: check every time.
LOGIN_VERIFIED_TTL = envint("LOGIN_VERIFIED_TTL", 300)

# --- SFTP server ------------------------------------------------------------------------------
SFTPD_HOST = env("SFTPD_HOST", "127.0.0.1")
SFTPD_PORT = envint("SFTPD_PORT", 2222)
# The host name photographers type into FileZilla; defaults to SFTPD_HOST.
SFTPD_PUBLIC_HOST = env("SFTPD_PUBLIC_HOST", SFTPD_HOST)
SFTPD_HOST_KEY_DIR = Path(env("SFTPD_HOST_KEY_DIR", str(VAR_DIR / "hostkeys")))
SFTPD_LOGIN_TIMEOUT = envint("SFTPD_LOGIN_TIMEOUT", 60)
SFTPD_IDLE_TIMEOUT = envint("SFTPD_IDLE_TIMEOUT", 900)
SFTPD_KEEPALIVE = envint("SFTPD_KEEPALIVE", 30)
# Missed keepalive answers before a silent client is dropped (SFTPD_KEEPALIVE seconds apart).
SFTPD_KEEPALIVE_COUNT = envint("SFTPD_KEEPALIVE_COUNT", 3)
SFTPD_MAX_HANDLES = envint("SFTPD_MAX_HANDLES", 64)  # open files and folders per session
# SSH channel flow control (sftpd/listener.py): how much a client may send before the server's
# window update, and the largest SSH packet of channel data the server accepts.
SFTPD_WINDOW = envint("SFTPD_WINDOW", 8 * 1024 * 1024)
SFTPD_MAX_PACKET = envint("SFTPD_MAX_PACKET", 256 * 1024)
# Server processes sharing the SFTP port (sftpd/processes.py): a number, or "auto" (one per core
# when the login guard's state is shared through Redis, else one).
SFTPD_PROCESSES = env("SFTPD_PROCESSES", "auto")

# --- FTP and FTPS server (DESIGN §8) -----------------------------------------------------------
FTPD_HOST = env("FTPD_HOST", "127.0.0.1")
FTPD_PORT = envint("FTPD_PORT", 2121)  # plain FTP and explicit FTPS (AUTH TLS)
FTPD_IMPLICIT_PORT = envint("FTPD_IMPLICIT_PORT", 9990)  # implicit FTPS (990 in docker/compose.yml)
# Passive data connections: "first-last"; empty: any free port (tests).
FTPD_PASSIVE_PORTS = env("FTPD_PASSIVE_PORTS", "30000-30099")
# What PASV/EPSV answer (the address clients reach, behind NAT); empty: the control connection's.
FTPD_PUBLIC_ADDRESS = env("FTPD_PUBLIC_ADDRESS", "")
# The host name photographers and cameras type in; the generated certificate is made out to it.
FTPD_PUBLIC_HOST = env("FTPD_PUBLIC_HOST", SFTPD_PUBLIC_HOST)
FTPD_TLS_DIR = Path(env("FTPD_TLS_DIR", str(VAR_DIR / "tls")))  # the certificate made on first start
FTPD_TLS_CERT = env("FTPD_TLS_CERT", "")  # the operator's own certificate (PEM, chain first) ...
FTPD_TLS_KEY = env("FTPD_TLS_KEY", "")  # ... and its key (or inside FTPD_TLS_CERT)
# "required": a TLS data connection closed without close_notify is a failed upload (426);
# "lenient": accepted, for clients that never send one (netkit ftp-ssl, some camera firmware).
FTPD_TLS_CLOSE_NOTIFY = env("FTPD_TLS_CLOSE_NOTIFY", "required")
if FTPD_TLS_CLOSE_NOTIFY not in ("required", "lenient"):
    raise ImproperlyConfigured("FTPD_TLS_CLOSE_NOTIFY must be required or lenient")
FTPD_LOGIN_TIMEOUT = envint("FTPD_LOGIN_TIMEOUT", 60)
FTPD_IDLE_TIMEOUT = envint("FTPD_IDLE_TIMEOUT", 900)
FTPD_MAX_CONNECTIONS = envint("FTPD_MAX_CONNECTIONS", 512)  # per server process
# Commands a second (transfers and TYPE not counted) before a client is cut off as a flood.
FTPD_MAX_COMMANDS_PER_SECOND = envint("FTPD_MAX_COMMANDS_PER_SECOND", 500)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "asyncssh": {"level": env("ASYNCSSH_LOG_LEVEL", "WARNING")},
        "django.db.backends": {"level": "WARNING"},
    },
}
