"""Settings for the 爱南宁健康码 platform, read from the environment.

SQLite by default; PostgreSQL when DATABASE_URL names it. Secrets come from the
environment or from NAME_FILE; in debug mode, missing secrets are generated once
into var/ (never committed) so that `make demo` needs no configuration.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from healthcode.lib.env import envbool, envint, envsecret, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("HEALTHCODE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("HEALTHCODE_DEBUG", False)


def _dev_secret(name: str, nbytes: int) -> str:
    """A per-checkout secret for development, kept in var/ and never committed."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / f"dev-{name}"
    if not path.exists():
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


def _secret(env_name: str, dev_name: str, nbytes: int = 32) -> str:
    value = envsecret(env_name)
    if value:
        return value
    if DEBUG or envbool("HEALTHCODE_TESTING", False):
        return _dev_secret(dev_name, nbytes)
    raise ImproperlyConfigured(f"{env_name} (or {env_name}_FILE) must be set when not in debug mode")


SECRET_KEY = _secret("HEALTHCODE_SECRET_KEY", "secret-key", 48)
# Rotation (docs/deploy.md): the previous keys, comma-separated, still accepted for sessions and
# signed values while they expire; new ones are made with SECRET_KEY.
SECRET_KEY_FALLBACKS = [k for k in envsecret("HEALTHCODE_SECRET_KEY_FALLBACKS").split(",") if k]
# Field encryption keys for ID numbers: "kid:base64key[,kid:base64key...]", the first one encrypts.
FIELD_ENCRYPTION_KEYS = _secret("HEALTHCODE_FIELD_KEYS", "field-keys", 32)
BLIND_INDEX_KEY = _secret("HEALTHCODE_BLIND_INDEX_KEY", "blind-index-key", 32)

ALLOWED_HOSTS = [h for h in envstr("HEALTHCODE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in envstr("HEALTHCODE_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "healthcode.accounts",
    "healthcode.regions",
    "healthcode.audit",
    "healthcode.codes",
    "healthcode.checkins",
    "healthcode.backoffice",
    "healthcode.enterprises",
    "healthcode.jobs",
    "healthcode.notifications",
    "healthcode.appeals",
    "healthcode.credit",
    "healthcode.privacy",
    "django_tasks_db",
    "healthcode.ops",
    "healthcode.api",
    "healthcode.front",
]

MIDDLEWARE = [
    # First: it times, counts and logs every request, whatever answers it (request id echoed).
    "healthcode.ops.middleware.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "healthcode.lib.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "healthcode.urls"
WSGI_APPLICATION = "healthcode.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "healthcode.front.context_processors.ui",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        # A secret (it may hold the password): DATABASE_URL_FILE works too.
        envsecret("DATABASE_URL", f"sqlite:///{VAR_DIR / 'healthcode.sqlite3'}"),
        conn_max_age=envint("HEALTHCODE_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
# Passwords exist only for back-office accounts (residents log in by SMS code).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ["phone"]}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "healthcode" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Where collectstatic puts the files that nginx serves (docs/deploy.md).
STATIC_ROOT = Path(envstr("HEALTHCODE_STATIC_ROOT", str(VAR_DIR / "static")))
# Production: file names carry a hash of their content (app.3f2a9c1b7d4e.css), so nginx and
# WhiteNoise can let browsers cache them for a year. Needs `collectstatic` before the server
# starts (a page naming a file missing from the manifest is an error), hence off by default.
if envbool("HEALTHCODE_STATIC_MANIFEST", False):
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = envint("HEALTHCODE_SESSION_AGE", 12 * 3600)
SESSION_COOKIE_SECURE = envbool("HEALTHCODE_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Sessions also end when the browser closes (a shared phone at a checkpoint), and never outlive
# SESSION_COOKIE_AGE however active they are.
SESSION_EXPIRE_AT_BROWSER_CLOSE = envbool("HEALTHCODE_SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

# --- Security headers ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (only then: the header is forgeable).
if envbool("HEALTHCODE_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("HEALTHCODE_SSL_REDIRECT", False)
# Probes and the metrics scraper talk plain HTTP to the app server, past the TLS proxy.
SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^healthz$", r"^readyz$", r"^metrics$"]
# HSTS goes out on HTTPS responses only; on by default wherever cookies are marked secure.
SECURE_HSTS_SECONDS = envint("HEALTHCODE_HSTS_SECONDS", 365 * 24 * 3600 if SESSION_COOKIE_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HEALTHCODE_HSTS_INCLUDE_SUBDOMAINS", False)
# Content Security Policy (Django's own middleware): every script is a static file, so no inline
# script and no eval. Style *attributes* are still used by several templates (style="overflow-x:
# auto" and the like) and by the chart library, so only those are allowed inline; <style> elements
# and style sheets come from our own origin. The QR code is inline SVG, images are same-origin
# or data: URLs; the scanner page reads a chosen photo of a QR code through a blob: URL.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# --- Cache and rate limits -----------------------------------------------------------------
# Redis when configured (shared by every app server: rate-limit counters count across them),
# else each process's own memory. The URL may hold a password: HEALTHCODE_REDIS_URL_FILE works.
HEALTHCODE_REDIS_URL = envsecret("HEALTHCODE_REDIS_URL")
if HEALTHCODE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": HEALTHCODE_REDIS_URL,
            "KEY_PREFIX": "healthcode",
            "OPTIONS": {
                "parser_class": "redis.connection._HiredisParser",
                # A Redis that is down or slow must not hold requests: rate limits then let
                # requests through and /readyz reports it.
                "socket_connect_timeout": 1,
                "socket_timeout": 1,
                "health_check_interval": 30,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "healthcode",
        }
    }

# Rate limits of the API (healthcode/lib/throttle.py), "<count>/<period>" with period s, m, h, d
# or a number of seconds ("20/10s"), "off" to disable one. Fixed windows counted in the cache.
# They stop floods, not people: a scanner at a gate scans one person every couple of seconds
# (30 a minute), a family's phone checks in a few codes a day. Each is HEALTHCODE_RATE_<NAME>.
_RATE_DEFAULTS = {
    "scan_account": "120/m",  # POST /api/v1/scans per logged-in scanner
    # Per client address: a carrier-grade NAT or a factory's or campus's one address carries
    # many people, so these only stop one machine flooding (nginx's per-address zone is alike).
    "scan_ip": "3000/m",
    "checkin_account": "30/m",  # POST /api/v1/codes/{id}/checkins per account
    "checkin_ip": "3000/m",
    "otp_ip": "20/m",  # POST /api/v1/auth/otp, before the per-phone/per-IP hourly limits
    "login_ip": "60/m",  # POST /api/v1/auth/token per client address
}
# The test suite logs in from 127.0.0.1 hundreds of times a minute: there, limits are off unless
# the environment or a test (override_settings) sets them.
HEALTHCODE_RATE_LIMITS = {
    name: envstr(
        f"HEALTHCODE_RATE_{name.upper()}", "off" if envbool("HEALTHCODE_TESTING", False) else default
    )
    for name, default in _RATE_DEFAULTS.items()
}

# --- The health-code domain ------------------------------------------------------------------
HEALTHCODE_SMS_BACKEND = envstr("HEALTHCODE_SMS_BACKEND", "console")
HEALTHCODE_SMS_FILE = envstr("HEALTHCODE_SMS_FILE", str(VAR_DIR / "sms.jsonl"))
HEALTHCODE_OTP_TTL_SECONDS = envint("HEALTHCODE_OTP_TTL_SECONDS", 300)
HEALTHCODE_OTP_MAX_TRIES = envint("HEALTHCODE_OTP_MAX_TRIES", 5)
HEALTHCODE_OTP_PER_PHONE_PER_HOUR = envint("HEALTHCODE_OTP_PER_PHONE_PER_HOUR", 5)
HEALTHCODE_OTP_PER_IP_PER_HOUR = envint("HEALTHCODE_OTP_PER_IP_PER_HOUR", 30)
# Behind a reverse proxy that sets X-Forwarded-For, trust its last entry as the client's IP.
HEALTHCODE_TRUST_X_FORWARDED_FOR = envbool("HEALTHCODE_TRUST_X_FORWARDED_FOR", False)
HEALTHCODE_API_TOKEN_DAYS = envint("HEALTHCODE_API_TOKEN_DAYS", 30)
# The back office: tokens and verified sessions last a working day, then password + SMS again.
HEALTHCODE_BACKOFFICE_TOKEN_HOURS = envint("HEALTHCODE_BACKOFFICE_TOKEN_HOURS", 10)
HEALTHCODE_BACKOFFICE_SESSION_HOURS = envint("HEALTHCODE_BACKOFFICE_SESSION_HOURS", 10)
HEALTHCODE_BACKOFFICE_LOGIN_MAX_FAILURES = envint("HEALTHCODE_BACKOFFICE_LOGIN_MAX_FAILURES", 5)
HEALTHCODE_BACKOFFICE_LOGIN_LOCK_MINUTES = envint("HEALTHCODE_BACKOFFICE_LOGIN_LOCK_MINUTES", 15)
HEALTHCODE_FAMILY_CAP = envint("HEALTHCODE_FAMILY_CAP", 5)
HEALTHCODE_RULE_SET = envstr("HEALTHCODE_RULE_SET", "default")
# How often a process checks whether a newer rule-set version was published.
HEALTHCODE_RULE_SET_CHECK_SECONDS = envint("HEALTHCODE_RULE_SET_CHECK_SECONDS", 5)
HEALTHCODE_QR_PREFIX = envstr("HEALTHCODE_QR_PREFIX", "NN1:")
HEALTHCODE_QR_ISSUER = envstr("HEALTHCODE_QR_ISSUER", "NN")
HEALTHCODE_QR_TTL_SECONDS = envint("HEALTHCODE_QR_TTL_SECONDS", 180)
# Signing keys are stored encrypted in the database under this key-encryption key.
HEALTHCODE_KEY_ENCRYPTION_KEY = _secret("HEALTHCODE_KEY_ENCRYPTION_KEY", "key-encryption-key", 32)

# Background work (Django's tasks framework): the database-backed worker (`manage.py db_worker`)
# by default; "immediate" runs tasks in the request (tests, or a deployment without a worker).
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django.tasks.backends.immediate.ImmediateBackend",
        }[envstr("HEALTHCODE_TASKS_BACKEND", "database")]
    }
}
# The public credit information platform (南宁市公共信用信息共享平台): deliveries of dishonesty
# records. Without an endpoint, records wait in the outbox for the file export.
HEALTHCODE_CREDIT_ENDPOINT = envstr("HEALTHCODE_CREDIT_ENDPOINT", "")
HEALTHCODE_CREDIT_HMAC_KEY = envsecret("HEALTHCODE_CREDIT_HMAC_KEY")
HEALTHCODE_CREDIT_ACK_HMAC_KEY = envsecret("HEALTHCODE_CREDIT_ACK_HMAC_KEY")
HEALTHCODE_CREDIT_APPEAL_DAYS = envint("HEALTHCODE_CREDIT_APPEAL_DAYS", 15)
HEALTHCODE_CREDIT_MAX_ATTEMPTS = envint("HEALTHCODE_CREDIT_MAX_ATTEMPTS", 8)
HEALTHCODE_CREDIT_BACKOFF_SECONDS = envint("HEALTHCODE_CREDIT_BACKOFF_SECONDS", 60)
HEALTHCODE_CREDIT_TIMEOUT_SECONDS = envint("HEALTHCODE_CREDIT_TIMEOUT_SECONDS", 10)
HEALTHCODE_JOBS_DIR = envstr("HEALTHCODE_JOBS_DIR", str(VAR_DIR / "jobs"))

# --- Operations: logs, metrics ---------------------------------------------------------------
# JSON lines on stderr (journald) in production: one per request from healthcode.ops.middleware
# (method, path without query string, route, status, duration, request id), and every other
# record with the request id of the request it belongs to. Text for development.
HEALTHCODE_LOG_FORMAT = envstr("HEALTHCODE_LOG_FORMAT", "text" if DEBUG else "json")
if HEALTHCODE_LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("HEALTHCODE_LOG_FORMAT must be json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "healthcode.ops.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "healthcode.ops.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": HEALTHCODE_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": envstr("HEALTHCODE_LOG_LEVEL", "INFO")},
    "loggers": {
        # runserver prints its own line per request in development.
        "healthcode.request": {"level": "INFO" if HEALTHCODE_LOG_FORMAT == "json" else "WARNING"},
    },
}
# GET /metrics (Prometheus) answers only a bearer token equal to this; without it, 404.
HEALTHCODE_METRICS_TOKEN = envsecret("HEALTHCODE_METRICS_TOKEN")
