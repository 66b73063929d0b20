"""One settings module for every environment, driven by environment variables.

Development defaults need no configuration: the database and Redis are the private servers that
`scripts/dev` starts under var/. Production (DJANGO_ENV=production) refuses to start without a
SECRET_KEY or with DEBUG on.
"""

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_duration(name: str, default: str) -> str:
    """A PostgreSQL duration ("300s", "5min"; "0" for none), checked here because it is written into SQL and
    into the connection's options. A default of "" leaves the setting unset."""
    value = env_str(name, "").strip() or default
    if not value:
        return ""
    match = re.fullmatch(r"(\d+)\s*(us|ms|s|min|h|d)?", value)
    if match is None:
        raise ImproperlyConfigured(f"{name} must be a duration such as 300s or 5min, not {value!r}")
    # "5 min" comes back as "5min": libpq splits the connection's options on whitespace.
    number, unit = match.groups("")
    return number + unit


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DEBUG", not PRODUCTION)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if PRODUCTION:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when DJANGO_ENV=production")
elif not SECRET_KEY:
    SECRET_KEY = "development-only-not-secret"  # noqa: S105 - development only; production requires one

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1]")
PORT = env_int("PORT", 8000)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files: no CDN
    "leaflet",
    "simple_history",
    "django_celery_beat",
    "csp",
    "posture",
    "events",
    "ops",
]

MIDDLEWARE = [
    # Load balancer probes first: they come over plain HTTP with the instance's address as Host.
    "ops.health.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "ops.middleware.RequestSizeLimitMiddleware",
    "ops.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]


PRIVATE_RUN_DIR = BASE_DIR / "var" / "run"

if os.environ.get("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(os.environ["DATABASE_URL"], engine="django.contrib.gis.db.backends.postgis")
    }
else:
    # The private cluster started by scripts/dev: Unix socket in var/run, no TCP port.
    DATABASES = {
        "default": {
            "ENGINE": "django.contrib.gis.db.backends.postgis",
            "NAME": "posture",
            "USER": "posture",
            "HOST": str(PRIVATE_RUN_DIR),
            "PORT": "54329",
        }
    }

# Lets several test runs share one cluster without fighting over the test database.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

# Production keeps a psycopg connection pool per process (DATABASE_POOL), checked on checkout so that
# connections broken by a database restart are replaced instead of failing a request. A connect
# timeout and the pool timeout bound how long a request waits for an unreachable database before it
# gets its 503. DATABASE_STATEMENT_TIMEOUT (e.g. "15s") caps every query of the process; the web server
# sets it (config/gunicorn.py), workers and commands, which may run long migrations, do not.
DATABASE_POOL = env_bool("DATABASE_POOL", PRODUCTION)
DATABASE_STATEMENT_TIMEOUT = env_duration("DATABASE_STATEMENT_TIMEOUT", "")
# A CSV export is one COPY statement, running until its last byte has gone to the client: a large export,
# or a slow client, outlasts the web tier's timeout after the 200 was sent, and the file just stops. The
# export raises the limit for that statement alone (SET LOCAL, in its own transaction), to this.
EXPORT_STATEMENT_TIMEOUT = env_duration("EXPORT_STATEMENT_TIMEOUT", "300s")


def database_options(database: dict) -> dict:
    options = dict(database.get("OPTIONS", {}))
    options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
    # PostgreSQL's JIT compiler fires on the API's GeoJSON pages (their cost estimate is high) and spends
    # more compiling them than it could save: over half a second on a 10,000-feature page.
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    if DATABASE_STATEMENT_TIMEOUT:
        options["options"] = f"{options.get('options', '')} -c statement_timeout={DATABASE_STATEMENT_TIMEOUT}".strip()
    if DATABASE_POOL:
        options["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
            # One per gunicorn thread (GUNICORN_THREADS) is all a process can use. More would only sit idle,
            # and after a database restart each idle connection fails its check once, with the pool backing
            # off a little longer after each: the first request would then wait seconds, not one.
            "max_size": env_int("DATABASE_POOL_MAX_SIZE", 2),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 5),
            # psycopg_pool retries a failed connection with a doubling delay until this runs out; the
            # default (5 minutes) lets the delay grow past a minute during an outage, which then keeps a
            # pool empty that long after the database is back. A short cycle restarts on demand instead.
            "reconnect_timeout": env_int("DATABASE_POOL_RECONNECT_TIMEOUT", 5),
        }
    return options


# Public reads go to a read replica when there is one (ops/routers.py says which reads).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], engine="django.contrib.gis.db.backends.postgis"
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["ops.routers.PrimaryReplicaRouter"]
    MIDDLEWARE.append("ops.routers.ReplicaReadsMiddleware")

for _database in DATABASES.values():
    _database["OPTIONS"] = database_options(_database)
    _database["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


REDIS_URL = env_str("REDIS_URL", f"unix://{PRIVATE_RUN_DIR}/redis.sock?db=0")


def celery_broker_url(redis_url: str) -> str:
    """Kombu spells a Unix-socket Redis differently from redis-py."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"


# The cache fails open (ops/cache.py): with Redis down the site answers uncached instead of failing.
CACHES = {
    "default": {
        "BACKEND": "ops.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "posture",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1, "RETRY_AFTER": 5},
    }
}
# The API's shared response cache (api/caching.py, README "Conditional GET"): public answers kept under their
# version ETag. RESPONSE_CACHE=false turns it off (version ETags and 304s stay). RESPONSE_CACHE_URL can give it a
# Redis of its own (with maxmemory and allkeys-lru, say); by default it shares the one above, whose Celery
# queues must never be evicted, so its size is bounded here: entries of at most RESPONSE_CACHE_MAX_KB, kept
# RESPONSE_CACHE_SECONDS, and at most RESPONSE_CACHE_BUDGET_MB stored per such period (so twice that at most).
RESPONSE_CACHE = env_bool("RESPONSE_CACHE", True)
RESPONSE_CACHE_SECONDS = env_int("RESPONSE_CACHE_SECONDS", 3600)
RESPONSE_CACHE_MAX_BYTES = env_int("RESPONSE_CACHE_MAX_KB", 8192) * 1024
RESPONSE_CACHE_BUDGET_BYTES = env_int("RESPONSE_CACHE_BUDGET_MB", 256) * 1024 * 1024
# Each web process also keeps the answers it served last, up to this much memory (0: none).
RESPONSE_CACHE_LOCAL_BYTES = env_int("RESPONSE_CACHE_LOCAL_MB", 64) * 1024 * 1024
RESPONSE_CACHE_ALIAS = "responses"
CACHES[RESPONSE_CACHE_ALIAS] = {
    **CACHES["default"],
    "LOCATION": env_str("RESPONSE_CACHE_URL", "") or REDIS_URL,
    "KEY_PREFIX": "posture-responses",
}
if RESPONSE_CACHE_SECONDS <= 0:
    raise ImproperlyConfigured("RESPONSE_CACHE_SECONDS must be positive (RESPONSE_CACHE=false turns the cache off)")

# Sessions live in the database, cached in Redis: any web process can serve any user, and a Redis
# outage logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Redis hands a task whose worker died (kill -9, OOM) to another worker only after this many seconds
# without an ack; every task is idempotent, so a redelivery of a task still running does no harm.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL", 10),
}


# Uploaded import files; with several hosts this must be storage they share.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
IMPORT_CHUNK_SIZE = env_int("IMPORT_CHUNK_SIZE", 5000)
IMPORT_MAX_UPLOAD_MB = env_int("IMPORT_MAX_UPLOAD_MB", 100)
# An unfinished import whose last chunk committed longer ago than this is queued again by beat.
IMPORT_STALL_SECONDS = env_int("IMPORT_STALL_SECONDS", 600)
# Tests only: the worker sleeps once an import's committed rows reach this count (0: never), to be killed there.
IMPORT_TEST_PAUSE_AT_ROW = env_int("IMPORT_TEST_PAUSE_AT_ROW", 0)

# The ACLED sync (docs/imports.md) is off until ACLED_EMAIL and ACLED_PASSWORD (an ACLED account) are set. It
# logs in at ACLED_BASE_URL's /oauth/token and reads /api/acled/read and /api/deleted/read there.
ACLED_BASE_URL = env_str("ACLED_BASE_URL", "https://acleddata.com")
ACLED_EMAIL = env_str("ACLED_EMAIL", "")
ACLED_PASSWORD = env_str("ACLED_PASSWORD", "")
ACLED_QUERY = env_str("ACLED_QUERY", "iso=368|760")  # Iraq and Syria
ACLED_PAGE_SIZE = env_int("ACLED_PAGE_SIZE", 5000)
# ACLED's retired key-based API: read only so that a deployment still setting it hears, once, that it starts
# nothing (the events.W001 check).
ACLED_API_KEY = env_str("ACLED_API_KEY", "")
# The UCDP GED sync (docs/imports.md): off until UCDP_TOKEN and UCDP_VERSION are set. UCDP_COUNTRIES are UCDP's
# (Gleditsch-Ward) codes, Iraq 645 and Syria 652; UCDP_START (YYYY-MM-DD) leaves out earlier events.
UCDP_API_URL = env_str("UCDP_API_URL", "https://ucdpapi.pcr.uu.se/api")
UCDP_TOKEN = env_str("UCDP_TOKEN", "")
UCDP_VERSION = env_str("UCDP_VERSION", "")
UCDP_COUNTRIES = env_list("UCDP_COUNTRIES", "645,652")
UCDP_START = env_str("UCDP_START", "")
UCDP_PAGE_SIZE = env_int("UCDP_PAGE_SIZE", 1000)
# Both syncs: a 429 or 5xx is asked again up to SYNC_RETRIES times, after SYNC_BACKOFF_MS, then twice that, and
# so on (or the server's Retry-After, if longer), and never once SYNC_DEADLINE_SECONDS have passed since the run
# started. SYNC_TIMEOUT_SECONDS bounds each request.
SYNC_RETRIES = env_int("SYNC_RETRIES", 5)
SYNC_BACKOFF_MS = env_int("SYNC_BACKOFF_MS", 10_000)
SYNC_DEADLINE_SECONDS = env_int("SYNC_DEADLINE_SECONDS", 3600)
SYNC_TIMEOUT_SECONDS = env_int("SYNC_TIMEOUT_SECONDS", 60)

WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# Retry n waits WEBHOOK_RETRY_BASE_SECONDS * 2**(n-1), capped at a day; after the last attempt the
# delivery is marked as given up.
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 60)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10)


AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# Whitenoise serves the collected static files from the web process; in production with hashed names
# and far-future caching. Media (uploaded import files) go to a storage every web and worker host can
# reach: a shared volume at MEDIA_ROOT, or an object store through MEDIA_STORAGE_BACKEND.
# In development whitenoise serves straight from the static folders, with no collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": env_str("MEDIA_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}


# TLS ends at the load balancer / proxy, which says so in X-Forwarded-Proto. Only trust that header
# in production, where the web processes are reachable only through the proxy.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Tile servers (OpenStreetMap's usage policy) want to know the referring site; send the origin only.
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")


def tile_source(tile_url: str) -> list[str]:
    """The CSP source for the online tile layer: "https://{s}.tile.example/..." -> "https://*.tile.example"."""
    if not tile_url:
        return []
    parts = urlsplit(tile_url)
    return [f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"]


# Content-Security-Policy (django-csp): scripts only from our origin, plus inline scripts carrying the
# per-request nonce (the dashboard's import map: <script type="importmap" nonce="{{ request.csp_nonce }}">,
# and django-leaflet's admin widget, which adds the nonce itself). json_script blocks are data, not
# scripts, and need nothing. Styles allow inline because Leaflet and the admin set style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        # The online tile layer's host is added in the Map section below.
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}


# Form and JSON bodies are held in memory, so they are small; uploaded files stream to disk past
# FILE_UPLOAD_MAX_MEMORY_SIZE, and MAX_UPLOAD_SIZE caps the whole request: one import file of
# IMPORT_MAX_UPLOAD_MB plus the form around it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
MAX_UPLOAD_SIZE = env_int("MAX_UPLOAD_SIZE", (IMPORT_MAX_UPLOAD_MB + 1) * 1024 * 1024)

# Anonymous API clients get this many requests per address ("300/min"; empty turns the limit off).
API_ANON_RATE = env_str("API_ANON_RATE", "300/min")
# Where a failure is answered as JSON rather than as an HTML page.
API_PATH_PREFIXES = ("/api/", "/ogc/")
# What 503 answers tell clients to wait before trying again.
RETRY_AFTER_SECONDS = env_int("RETRY_AFTER_SECONDS", 10)
# Where `make backup` (manage.py backup) writes its pg_dump files unless told otherwise.
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(BASE_DIR / "var" / "backups")))


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    # Public reads; writes need the model permission (add/change/delete).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissionsOrAnonReadOnly"],
    # drf-gis answers 500 to form-encoded bodies, and the API only speaks JSON anyway.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["ops.throttling.AnonymousRateThrottle"],
    # How many proxies in front of us append to X-Forwarded-For (1 behind the compose proxy). With 0
    # the client address is REMOTE_ADDR, so a client cannot pick its own by sending the header.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Force Posture Dashboard API",
    "DESCRIPTION": "Bases, troop levels and incidents around foreign forces in Iraq and Syria.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # Write bodies and responses differ (server-owned fields), so each gets its own component.
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "kind" or "status"; give each choice set its own, stable name.
    "ENUM_NAME_OVERRIDES": {
        "IncidentKindEnum": "events.models.Kind",
        "IncidentStatusEnum": "events.models.Incident.Status",
        "AttributionEnum": "events.models.Incident.Attribution",
        "CasualtyKindEnum": "events.models.Casualty.Kind",
        "LinkRelationEnum": "events.models.IncidentLink.Relation",
        "LinkConfidenceEnum": "events.models.IncidentLink.Confidence",
        "ActorKindEnum": "posture.models.Actor.Kind",
        "BaseKindEnum": "posture.models.Base.Kind",
        "TroopLevelStatusEnum": "posture.models.TroopLevel.Status",
        "CalendarUnitEnum": ["day", "week", "month"],
        "GeoJSONFeatureTypeEnum": ["Feature"],
        "GeoJSONFeatureCollectionTypeEnum": ["FeatureCollection"],
        "GeoJSONPointTypeEnum": ["Point"],
        "ImportFormatEnum": "events.models.ImportJob.Format",
        "ImportUploadFormatEnum": "events.actions.UPLOAD_FORMATS",
        "ImportStatusEnum": "events.models.ImportJob.Status",
    },
}


# OpenStreetMap by default; an empty MAP_TILE_URL turns online tiles off, and the map then uses only
# the country borders the project serves itself.
MAP_TILE_URL = env_str("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "&copy; OpenStreetMap contributors" if MAP_TILE_URL else "")
CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += tile_source(MAP_TILE_URL)

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (33.5, 42.0),
    "DEFAULT_ZOOM": 5,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 18,
    "TILES": [("Map", MAP_TILE_URL, {"attribution": MAP_TILE_ATTRIBUTION})] if MAP_TILE_URL else [],
    "RESET_VIEW": False,
    # The offline country borders under the admin's map widget (see static/js/admin-borders.js).
    "PLUGINS": {"forms": {"js": ["js/admin-borders.js"]}},
}


SILENCED_SYSTEM_CHECKS = [
    # gis.W001 warns that GDAL < 3.9 mis-parses some spatial reference strings. The project never
    # parses SRS strings from users: every geometry is stored and served as EPSG:4326.
    "gis.W001",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
