"""Prism control plane settings: one module, every deployment choice read from the environment."""

import ipaddress
import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# pytest-django loads settings before any conftest runs, so the test run is recognised here.
TESTING = "pytest" in sys.modules

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY: set it in the environment (a long random string); "
            "only DEBUG=1 runs with the development default."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "prism_site.apps.PrismAdminConfig",  # the admin, signing in through the site's login
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "guardian",
    "django_tasks_db",
    "members",
    "orgs",
    "keys",
    "usage",
    "gateway",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "prism_site.session_timeouts.SessionTimeoutMiddleware",
    "prism_site.timezones.ViewerTimeZoneMiddleware",
    "prism_site.middleware.HtmxMessagesMiddleware",
    "prism_site.error_responses.DomainErrorMiddleware",
    "prism_site.api_errors.ApiMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "prism_site.urls"
WSGI_APPLICATION = "prism_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "orgs.context_processors.organization_navigation",
            ],
            # prism_site is not an app (only its admin config is): its tags are named here.
            "libraries": {"times": "prism_site.templatetags.times"},
        },
    },
]

# Persistent connections: opening one per request costs more than most pages (a PostgreSQL
# connection is a new server process). The health check before reuse drops a connection the
# server closed meanwhile, instead of failing the request on it.
try:
    DATABASE_CONN_MAX_AGE = int(os.environ.get("DATABASE_CONN_MAX_AGE", "60"))
except ValueError:
    raise ImproperlyConfigured(
        "DATABASE_CONN_MAX_AGE: must be a whole number of seconds to keep a database connection "
        f"open (0 opens one per request), not {os.environ['DATABASE_CONN_MAX_AGE']!r}"
    ) from None
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=DATABASE_CONN_MAX_AGE,
        conn_health_checks=True,
    )
}
# The lookups every admin API call makes (its credential, the caller's membership) run as
# server-side prepared statements on PostgreSQL (`prism_site.queries.prepared_row`): planning a
# five-table join cost more than running it. Everything else keeps Django's client-side binding,
# which never prepares. Set DATABASE_PREPARED_LOOKUPS=0 behind a connection pooler that cannot
# keep prepared statements (PgBouncer in transaction mode before 1.21).
DATABASE_PREPARED_LOOKUPS = env_bool("DATABASE_PREPARED_LOOKUPS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_PREPARED_LOOKUPS:
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a competing writer instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Tests get a file, not Django's shared in-memory database: there a reader and a writer in
    # two threads (the live server beside the task worker) fail at once with "table is locked"
    # instead of waiting. pytest-xdist gives each worker its own file.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", str(BASE_DIR / "test.sqlite3"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Prism has no anonymous object permissions; guardian must not create an anonymous user row.
ANONYMOUS_USER_NAME = None
GUARDIAN_USER_OBJ_PERMS_MODEL = "guardian.UserObjectPermission"
GUARDIAN_GROUP_OBJ_PERMS_MODEL = "guardian.GroupObjectPermission"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Hashing with the production hasher makes every test login take ~0.3 s.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling: this many failures for one (email, IP) within the window lock it for a while.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
LOGIN_COOLOFF_SECONDS = int(os.environ.get("LOGIN_COOLOFF_SECONDS", "900"))

# Provider API keys in org configs are encrypted (AES-GCM) with these keys, never with SECRET_KEY.
# Comma-separated, newest first: encryption uses the first, decryption any. To rotate, prepend a
# new key, run `manage.py reencrypt_provider_secrets`, then remove the old key.
PROVIDER_SECRET_KEYS = env_list("PROVIDER_SECRET_KEYS")
PROVIDER_SECRET_DEV_KEY_FILE = (
    Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    / "prism"
    / "provider-secret-key"
)
if not PROVIDER_SECRET_KEYS:
    if TESTING:
        PROVIDER_SECRET_KEYS = [secrets.token_urlsafe(32)]
    elif DEBUG:
        # Generated once and kept outside the repository; `manage.py check` warns while in use.
        if not PROVIDER_SECRET_DEV_KEY_FILE.exists():
            PROVIDER_SECRET_DEV_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
            _draft = PROVIDER_SECRET_DEV_KEY_FILE.with_name(f".draft-{os.getpid()}")
            _fd = os.open(_draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(_fd, (secrets.token_urlsafe(32) + "\n").encode())
            os.close(_fd)
            try:  # link() is atomic: concurrent first starts agree on one key
                os.link(_draft, PROVIDER_SECRET_DEV_KEY_FILE)
                print(
                    f"Generated a development PROVIDER_SECRET_KEYS key in "
                    f"{PROVIDER_SECRET_DEV_KEY_FILE}",
                    file=sys.stderr,
                )
            except FileExistsError:
                pass
            finally:
                _draft.unlink()
        PROVIDER_SECRET_KEYS = [PROVIDER_SECRET_DEV_KEY_FILE.read_text().strip()]
    else:
        raise ImproperlyConfigured(
            "PROVIDER_SECRET_KEYS: set it in the environment (generate a key with "
            "`DEBUG=1 manage.py reencrypt_provider_secrets --generate-key`)."
        )
# Service tokens of the gateways (`Authorization: Bearer …` on /v1/gateway/ and /agentcc/).
# Comma-separated; every one listed is accepted, so a token is rotated without downtime by adding
# the new one, moving the gateways over, then removing the old one. None set: the gateway API
# answers 401 to everything (also under DEBUG: set one to run a gateway locally).
GATEWAY_TOKENS = env_list("GATEWAY_TOKENS")
for _token in GATEWAY_TOKENS:
    if len(_token) < 32:
        raise ImproperlyConfigured(
            "GATEWAY_TOKENS: each token must be at least 32 characters; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
        )
# Admin API calls each key or personal access token may make per minute (shared by every worker:
# counted in the database); past it the API answers 429 with Retry-After.
try:
    ADMIN_API_RATE_LIMIT_PER_MINUTE = int(os.environ.get("ADMIN_API_RATE_LIMIT_PER_MINUTE", "300"))
except ValueError:
    ADMIN_API_RATE_LIMIT_PER_MINUTE = 0
if ADMIN_API_RATE_LIMIT_PER_MINUTE < 1:
    raise ImproperlyConfigured(
        "ADMIN_API_RATE_LIMIT_PER_MINUTE: must be a whole number of calls, 1 or more."
    )
# Self-hosted models: allow provider base URLs on private, loopback and link-local addresses.
PROVIDER_ALLOW_PRIVATE_HOSTS = env_bool("PROVIDER_ALLOW_PRIVATE_HOSTS", False)


def env_days(name: str, default: int) -> int:
    try:
        days = int(os.environ.get(name, str(default)))
    except ValueError:
        days = 0
    if days < 1:
        raise ImproperlyConfigured(
            f"{name}: must be a whole number of days, 1 or more, not {os.environ[name]!r}"
        )
    return days


# Request logs older than this are dropped (whole monthly partitions on PostgreSQL); the rollups
# the analytics read are kept longer, so charts and spend outlive the raw rows.
REQUEST_LOG_RETENTION_DAYS = env_days("REQUEST_LOG_RETENTION_DAYS", 90)
USAGE_ROLLUP_RETENTION_DAYS = env_days("USAGE_ROLLUP_RETENTION_DAYS", 800)


def env_milliseconds(name: str, default: int) -> int:
    try:
        milliseconds = int(os.environ.get(name, str(default)))
    except ValueError:
        milliseconds = -1
    if milliseconds < 0:
        raise ImproperlyConfigured(
            f"{name}: must be a whole number of milliseconds, 0 (no limit) or more, "
            f"not {os.environ[name]!r}"
        )
    return milliseconds


# On PostgreSQL the Logs page's query is cancelled past this, and the page says to narrow it,
# instead of holding a worker and a connection while it reads.
LOGS_STATEMENT_TIMEOUT_MS = env_milliseconds("LOGS_STATEMENT_TIMEOUT_MS", 3000)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: console output in development, SMTP configured by environment in production.
EMAIL_BACKEND_PATH = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": int(os.environ.get("EMAIL_TIMEOUT", "10")),
    }
# Background tasks (invitation emails) are rows in this database, run by `manage.py db_worker`;
# services enqueue them when their transaction commits, so a request never waits on a mail server.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Prism <no-reply@prism.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The proxies (addresses or CIDR networks) whose X-Forwarded-For names the client, for sign-in
# throttling and the audit log; empty trusts nobody and uses the connection's address.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or CIDR network "
            "(e.g. 10.0.0.5 or 10.0.0.0/24)"
        ) from None

# HTTPS hardening: on by default outside DEBUG, each switch overridable.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not (DEBUG or TESTING))
# Load balancers probe the backend over plain HTTP; a redirect would read as "unhealthy".
SECURE_REDIRECT_EXEMPT = [r"^healthz\Z"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not (DEBUG or TESTING))
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not (DEBUG or TESTING))
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG or TESTING else "31536000")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not (DEBUG or TESTING))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# The `__Host-` prefix makes the browser refuse a cookie not set Secure, for Path=/ and without
# Domain: a sibling subdomain or a plain-HTTP page cannot plant or overwrite the session or the
# CSRF token. Browsers drop such a cookie over http, so DEBUG and tests keep the plain names.
if SESSION_COOKIE_SECURE and not DEBUG:
    SESSION_COOKIE_NAME = "__Host-sessionid"
if CSRF_COOKIE_SECURE and not DEBUG:
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# Content-Security-Policy, enforced everywhere (DEBUG and tests too, so a violation shows up
# where it is made): scripts and styles come from this site's static files or carry the
# response's nonce (`{{ csp_nonce }}`); no inline event handlers, style attributes or eval.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],  # swagger-ui's icons are data: URLs
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}


def env_minutes(name: str, default: int) -> int:
    try:
        minutes = int(os.environ.get(name, str(default)))
    except ValueError:
        minutes = 0
    if minutes < 1:
        raise ImproperlyConfigured(
            f"{name}: must be a whole number, 1 or more, not {os.environ[name]!r}"
        )
    return minutes


# Dashboard sessions end after this long without a request, and this long after signing in
# whatever the activity (NIST SP 800-63B, AAL2: reauthenticate after an hour idle and at least
# once a day): a laptop left open over lunch is signed out; a working day never is.
SESSION_IDLE_TIMEOUT_MINUTES = env_minutes("SESSION_IDLE_TIMEOUT_MINUTES", 60)
SESSION_ABSOLUTE_TIMEOUT_HOURS = env_minutes("SESSION_ABSOLUTE_TIMEOUT_HOURS", 24)
# The stored session (and its cookie) lasts no longer than the absolute limit either.
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT_HOURS * 3600

DEFAULT_EXCEPTION_REPORTER_FILTER = "prism_site.error_reports.AlwaysSafeExceptionReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Refused invitation pages (403/410), CSRF failures and runserver's request lines carry the
    # path: its invitation token is replaced with "…" before any handler sees the record.
    "filters": {"invitation_tokens": {"()": "prism_site.log_filters.InvitationTokenFilter"}},
    "formatters": {
        # Django's own runserver format, restated because configuring a logger drops its handlers.
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {
            "level": "INFO",
            "class": "logging.StreamHandler",
            "formatter": "django.server",
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's defaults give "django" a console handler of its own under DEBUG, and its
        # records reach the root's too: every line (the reloader's, the task worker's) printed
        # twice. Configuring the logger drops that handler; the root prints each record once.
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
        "django.request": {"filters": ["invitation_tokens"]},
        "django.security.csrf": {"filters": ["invitation_tokens"]},
        "django.server": {
            "handlers": ["django.server"],
            "filters": ["invitation_tokens"],
            "level": "INFO",
            "propagate": False,
        },
    },
}
