"""Settings for MTM. Everything that differs between machines comes from environment variables.

The helpers below fail loudly on a malformed value rather than guessing: a typo in production
configuration must stop the process, not silently turn a safety feature off.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MTM_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true/false (1/0, yes/no, on/off), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# pytest sets PYTEST_VERSION before settings load; tests run with DEBUG off but need no secrets.
TESTING = "PYTEST_VERSION" in os.environ
# `manage.py makemigrations` reads the models only: it needs no secret on a fresh checkout.
MAKING_MIGRATIONS = sys.argv[1:2] == ["makemigrations"]

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING or MAKING_MIGRATIONS):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-key-only-used-with-DEBUG-on-or-in-tests"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "mtm",
    "interactions",
    "patients",
    "reviews",
    "actionplans",
    "followups",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "mtm.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mtm.middleware.IdleSessionMiddleware",
    "mtm.middleware.RejectNulCharacterMiddleware",
    "mtm.middleware.PrivacyHeadersMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "mtm.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "mtm.middleware.SignedOutMiddleware",
    "mtm.middleware.OrganisationTimeZoneMiddleware",
    "axes.middleware.AxesMiddleware",
]

if DEBUG or TESTING:
    # runserver and the test live server serve static files themselves.
    MIDDLEWARE.remove("whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "mtm.urls"
WSGI_APPLICATION = "mtm.wsgi.application"

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
                "mtm.context_processors.navigation",
            ],
            "builtins": ["mtm.templatetags.mtm_tags"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'mtm.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file-backed test database lets a real Celery worker process see what a test wrote.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users, sign-in, sessions ---------------------------------------------------------------
AUTH_USER_MODEL = "mtm.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; tests only
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle timeout: the session expires this many minutes after the last request.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# The idle clock restarts with each request, the session being written at most this often
# (mtm.middleware.IdleSessionMiddleware), not on every request.
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # read from the cache (Redis), written through
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
PASSWORD_RESET_TIMEOUT = 60 * 60  # one hour

# Lockout after repeated failed sign-ins (per user name and address).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # axes would log user names and addresses
AXES_ENABLE_ADMIN = False
OTP_TOTP_ISSUER = "MTM"  # the name authenticator apps show
# Security keys and passkeys (django-otp-webauthn, mtm/security_keys.py): a second factor after the
# password, never instead of it. The relying party is the host name the page was opened at, and the
# origin checked is that address too (not a fixed OTP_WEBAUTHN_ALLOWED_ORIGINS list, hence the
# silenced check that asks for one): it works on the test server, behind the TLS proxy and on
# every name in ALLOWED_HOSTS, each with its own keys.
OTP_WEBAUTHN_RP_NAME = "MTM"  # the name the browser shows when asking for the key
OTP_WEBAUTHN_RP_ID_CALLABLE = "mtm.security_keys.relying_party_id"
OTP_WEBAUTHN_HELPER_CLASS = "mtm.security_keys.WebAuthnHelper"
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E030"]

# --- Security headers (production) -----------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not (DEBUG or TESTING))
# The container's healthcheck (docker-compose.yml) asks over plain HTTP, with no proxy in between.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp, on HTML pages): our own scripts, styles, fonts and images
# only; no inline script and no style attribute (the summary's print view alone allows inline
# styles: actionplans.views.document_print).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE], "script-src": [SELF], "style-src": [SELF], "img-src": [SELF, "data:"],
        "font-src": [SELF], "connect-src": [SELF], "form-action": [SELF], "frame-ancestors": [NONE],
        "base-uri": [NONE], "object-src": [NONE],
    }
}  # fmt: skip
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=()"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside the var/ volume in the image (Dockerfile): collected files belong to the code they came with.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Email ----------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "MTM <no-reply@localhost>")
# With no SMTP host, mail is written to files under var/mail/ so nothing leaves the machine.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# The address people use to reach the app, for links in emails sent outside a request (digests).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# Text messages (followups/sms.py): files under var/sms/ unless a provider's backend is configured.
SMS_BACKEND = env_str("SMS_BACKEND", "followups.sms.FileBackend")
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(VAR_DIR / "sms"))

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # A broker that is down fails a publish at once (mtm/outbox.py keeps the work) instead of
    # holding the user's request through seconds of reconnection attempts.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600, "max_retries": 1, "interval_start": 0, "interval_step": 0.2,
        "socket_connect_timeout": 2,
    }  # fmt: skip
else:
    # Embedded broker: messages are files in var/broker/, so no server is needed.
    _broker_dir = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / "broker")))
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)  # kombu does not create it
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "mtm.broker:Transport"  # kombu's, writing each message whole (mtm/broker.py)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # kombu's default is ./control
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True

# --- Cache: one for every process (the API token endpoint's throttle counts across workers) ------
if REDIS_URL and not TESTING:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("CACHE_URL", REDIS_URL),
                    "KEY_PREFIX": "mtm-cache"}
    }  # fmt: skip
else:  # embedded, and the tests (which empty it before each test): files any process can read
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                    "LOCATION": env_str("CACHE_DIR", str(VAR_DIR / "cache"))}
    }  # fmt: skip
# Tests run tasks in-process unless they start a real worker (tests marked "integration").
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", TESTING)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# A reminder claimed by a dispatch pass but not started this long after is claimed again.
REMINDER_RECLAIM_SECONDS = env_int("REMINDER_RECLAIM_SECONDS", 120)
# How often beat relays queued work left waiting, and how long a row waits for its own message first.
OUTBOX_RELAY_SECONDS = env_int("OUTBOX_RELAY_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {"task": "mtm.tasks.clear_expired_sessions", "schedule": 60 * 60},
    "forget-old-form-tokens": {"task": "mtm.tasks.forget_old_form_tokens", "schedule": 24 * 60 * 60},
    "forget-old-exports": {"task": "mtm.exports.forget_old_exports", "schedule": 24 * 60 * 60},
    "forget-old-import-files": {
        "task": "patients.interop.fhir_import.forget_old_files",
        "schedule": 24 * 60 * 60,
    },
    # Each organisation's MTM program for the running year (days to today move): reviews/program.py.
    "program-nightly": {"task": "reviews.program.nightly", "schedule": 24 * 60 * 60},
    # Queued work left waiting (the broker was down when it was queued): mtm/outbox.py.
    "relay-queued-work": {"task": "mtm.outbox.relay", "schedule": OUTBOX_RELAY_SECONDS},
    # Every minute; the integration test sets a second, to see a reminder go out within seconds.
    "send-due-reminders": {
        "task": "followups.tasks.send_due_reminders",
        "schedule": env_int("REMINDER_DISPATCH_SECONDS", 60),
    },
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so that a request without credentials is told how to authenticate (401).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mtm.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["mtm.api.permissions.HasCapability"],
    "DEFAULT_PARSER_CLASSES": [
        "mtm.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "mtm.api.pagination.CappedPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mtm.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "10/minute"},
}
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 30)
SPECTACULAR_SETTINGS = {
    "TITLE": "MTM API",
    "DESCRIPTION": "Patients, their medication lists and clinical records, screening, and medication reviews for medication therapy management.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["mtm.api.permissions.IsStaff"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The CMR questions share one answer scale.
    "ENUM_NAME_OVERRIDES": {
        "AnswerEnum": "reviews.models.Answer",
        "ImportStatusEnum": "patients.models.ImportStatus",
    },
}

# --- Logging: no patient data. Request paths carry only opaque ids. -------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},  # it logs each rendering step at INFO
        "fontTools": {"level": "WARNING"},
    },
}

# --- Audit ----------------------------------------------------------------------------------
# Set when a reverse proxy you run appends the client address to X-Forwarded-For.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)

# --- Drug knowledge base --------------------------------------------------------------------
# Folders with names imported from a local RxNorm release (manage.py import_rxnorm writes the first).
KNOWLEDGE_EXTRA_DIRS = env_list("KNOWLEDGE_EXTRA_DIRS", str(VAR_DIR / "knowledge"))
