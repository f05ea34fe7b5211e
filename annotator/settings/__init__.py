"""Settings, all from the environment.

With no DATABASE_URL the product runs on an embedded SQLite file under var/,
and with no CELERY_BROKER_URL tasks run eagerly in-process: a fresh machine
needs nothing else. Production sets both (see README).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("ANNOTATOR_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Off unless asked for: `make run` sets DJANGO_DEBUG=1 for the demo; production never does.
DEBUG = env_bool("DJANGO_DEBUG", False)
# With DEBUG off and no DJANGO_SECRET_KEY the product refuses to start (annotator/apps.py says how to set one).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "") or ("dev-only-insecure-key" if DEBUG else "")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Redoc for the API docs page, served from /static/ (no CDN)
    "annotator",
    "projects",
    "curation",
    "exports",
    "pipelines",
    "axes",  # login lockout (below); last, as its docs ask
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise, which answers static files (precompressed) before it; before the rest, so it compresses
    # what they give. The API's JSON only (annotator/compression.py says why, BREACH included).
    "annotator.compression.ApiGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "annotator.security.PermissionsPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a page or admin login lockout into its answer
]

ROOT_URLCONF = "annotator.urls"
WSGI_APPLICATION = "annotator.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'annotator.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
# Connections are bounded in every process (README, "Database connections"). On PostgreSQL a web
# process (runserver, gunicorn) borrows them from a psycopg pool of at most DATABASE_POOL_MAX_SIZE:
# runserver starts a thread per request and never reuses it, so persistent connections
# (CONN_MAX_AGE > 0) leave one open per finished request until PostgreSQL refuses everyone. Celery
# workers take the pool out again (annotator/celery.py): Celery closes a task's connection after it.
# DATABASE_POOL_MAX_SIZE=0 turns the pool off (then DATABASE_CONN_MAX_AGE applies, 0 by default).
DATABASE_POOL_MAX_SIZE = int(os.environ.get("DATABASE_POOL_MAX_SIZE", "4"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections open; Django requires 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        # A request waits this many seconds for a free connection, then fails (PoolTimeout) rather than queue up.
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "20")),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A busy timeout so the dev server and an eager import don't trip over each other.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or (
    os.environ["CELERY_BROKER_URL"] if os.environ.get("CELERY_BROKER_URL", "").startswith("redis") else ""
)
if REDIS_URL:
    # Shared by web and workers: job progress written inside a worker's
    # transaction is read here by the jobs endpoint.
    # Keyed by database, so deployments (or benchmark runs) sharing one Redis never see each
    # other's job progress or cancel flags.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": str(DATABASES["default"]["NAME"])}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))
# Every file the product keeps (import uploads, exports, snapshots, trained models) goes through the default
# storage (projects/storage.py): the local filesystem under MEDIA_ROOT, or, with AWS_STORAGE_BUCKET_NAME set, an
# S3-compatible bucket (README, "Files: shared disk or object storage"). django-storages' own setting names, read
# from the environment; without keys boto3 looks further (an instance role, ~/.aws).
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None  # a MinIO/SeaweedFS/Ceph server; none: AWS
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID") or None
AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY") or None
AWS_S3_ADDRESSING_STYLE = os.environ.get("AWS_S3_ADDRESSING_STYLE") or None  # "path" for most servers but AWS
# The part size of the multipart uploads of files written to the bucket as they are produced (S3's minimum: 5 MiB).
AWS_S3_FILE_BUFFER_SIZE = int(os.environ.get("AWS_S3_FILE_BUFFER_SIZE", str(8 * 1024 * 1024)))
# A file django-storages itself reads whole goes to disk above this size, not memory (its default keeps all).
AWS_S3_MAX_MEMORY_SIZE = 8 * 1024 * 1024
STORAGES = {
    "default": {"BACKEND": "projects.object_storage.ObjectStorage" if AWS_STORAGE_BUCKET_NAME
                else "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "annotator.storage.StaticFilesStorage"  # hashed names after collectstatic, plain names before
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Before `collectstatic` (no manifest in STATIC_ROOT) WhiteNoise serves the apps' own static folders.
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "staticfiles.json").exists()
# Uploads go to disk, not memory, so a 100,000-line import stays small.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# A request body other than an uploaded file (JSON): larger is a 413 naming this limit on API paths.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(50 * 1024 * 1024)))

REST_FRAMEWORK = {
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "projects.authentication.TokenAuthentication",  # DRF's, with a cheaper look-up
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "projects.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "projects.schema.AutoSchema",  # drf-spectacular's, with the error responses
    "EXCEPTION_HANDLER": "projects.errors.exception_handler",
    # JSON bodies: NUL, lone surrogates and deep nesting are a 400 naming the field (projects/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["projects.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # `?format=` names an export format (spacy, conll, jsonl), not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
}
# Security (README, "Security"). ------------------------------------------------------------------------------
# HTTPS: set by the README's production variables (`manage.py check --deploy` then gives no warning). Off by
# default, since the product also runs with DEBUG off on plain HTTP (tests, benches, a local gunicorn).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Behind a proxy that terminates TLS: the header it sets to "https" (e.g. X-Forwarded-Proto), so a request it
# forwards counts as secure (else SSL redirect loops). Only set it if the proxy always sets or strips that header.
_PROXY_SSL_HEADER = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "").strip()
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
# How many proxies append to X-Forwarded-For: the client address that login lockout and the anonymous throttle
# count is that many from the right. 0: the connection's address (REMOTE_ADDR), never a header a client can forge.
NUM_PROXIES = int(os.environ.get("DJANGO_NUM_PROXIES", "0"))

# Headers on every response: no inline script anywhere (pages are ES modules from /static/); inline styles are
# allowed because the workspace colours spans with style attributes; images may come from any https site (the
# guidelines' pictures). The API docs page adds the blob: worker Redoc searches in (annotator/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # The nonce only where a page uses one (request.csp_nonce): the workspace's early request (_early_fetch.html).
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "https:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
                      "payment=(), usb=()")  # none of them is used: denied to the pages and anything they embed

# Login lockout (django-axes): the login page, Django admin's login and the API token endpoint refuse a username,
# and separately an address, after LOGIN_FAILURE_LIMIT wrong passwords within LOGIN_LOCKOUT_MINUTES, until that
# long has passed with no further failure (429; `manage.py axes_reset` or Django admin lifts it sooner).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username or address before the password
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own
AXES_CLIENT_IP_CALLABLE = "projects.lockout.client_address"  # the same address as DRF's throttles (NUM_PROXIES)
AXES_LOCKOUT_CALLABLE = "annotator.security.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Anonymous API calls (the token endpoint included), per address, in the cache (Redis when configured).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["projects.throttling.AnonymousThrottle"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": os.environ.get("API_ANON_THROTTLE_RATE", "60/minute")}
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES

SPECTACULAR_SETTINGS = {
    "TITLE": "Annotator API",
    "DESCRIPTION": "Annotation and dataset curation for NER. Offsets are Unicode code points.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # An annotation's status, in requests, responses and conflicts alike.
    "ENUM_NAME_OVERRIDES": {"AnnotationStatusEnum": ["in_progress", "submitted"]},
    # The docs page's Redoc from drf-spectacular-sidecar's static files, so it works with no internet.
    "REDOC_DIST": "SIDECAR",
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# No broker: run tasks in-process so the product works with nothing else installed.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "annotator")
CELERY_TASK_IGNORE_RESULT = True  # the Job row is the truth, not Celery's result backend
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis gives an unacknowledged task (its worker died) to another worker after this many
# seconds; keep it longer than the longest single task (a training run).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
# Jobs never hang on a dead worker (projects/actions/jobs.py): a worker running a job's task refreshes
# Job.heartbeat_at every JOB_HEARTBEAT_SECONDS; a running job silent for JOB_HEARTBEAT_TIMEOUT seconds
# lost its worker and is swept (pre-labelling sent again, at most JOB_LOST_RETRIES times; other kinds
# failed with code worker_lost) by the next read of a job and by every worker every JOB_SWEEP_SECONDS.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "10"))
JOB_HEARTBEAT_TIMEOUT = float(os.environ.get("JOB_HEARTBEAT_TIMEOUT", "60"))
JOB_SWEEP_SECONDS = float(os.environ.get("JOB_SWEEP_SECONDS", "30"))
JOB_LOST_RETRIES = int(os.environ.get("JOB_LOST_RETRIES", "2"))

# Imports: rows per bulk write, and how often progress is reported. A file of IMPORT_PARALLEL_BYTES or
# more is read, checked and tokenized in IMPORT_PROCESSES worker processes (0: in the importing process),
# which take a second or two to start; a smaller one in the importing process. By default one per core:
# checking costs the workers more CPU than writing costs the importing process and PostgreSQL's backend
# together, so on 2 cores two workers keep both busy (bench/import.py, back to back: JSONL at 100,000
# documents 3,384/s with two, 2,654/s with one; peak memory 543 vs 371 MiB, flat in the file's size either way).
IMPORT_BATCH_SIZE = int(os.environ.get("IMPORT_BATCH_SIZE", "2000"))
IMPORT_PROCESSES = int(os.environ.get("IMPORT_PROCESSES", str(max(1, os.cpu_count() or 1))))
# Until a worker process is ready, the importing process checks chunks itself (tests turn it off to see
# every chunk go to a worker).
IMPORT_CHECK_WHILE_STARTING = os.environ.get("IMPORT_CHECK_WHILE_STARTING", "true").lower() == "true"
IMPORT_PARALLEL_BYTES = int(os.environ.get("IMPORT_PARALLEL_BYTES", str(2 * 1024 * 1024)))
TOKEN_CACHE_SIZE = int(os.environ.get("TOKEN_CACHE_SIZE", "2048"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Exports: above this many documents the export endpoint answers 202 with a job
# instead of the file; below it the file is spooled (in memory up to the byte limit).
EXPORT_SYNC_MAX_DOCUMENTS = int(os.environ.get("EXPORT_SYNC_MAX_DOCUMENTS", "20000"))
EXPORT_SPOOL_MEMORY_BYTES = int(os.environ.get("EXPORT_SPOOL_MEMORY_BYTES", str(8 * 1024 * 1024)))

# Curation: a document the queue hands out and that is not submitted within this many
# seconds (counted from the last save) goes back to the pool. Admins' explicit
# assignments never expire.
ASSIGNMENT_TIMEOUT_SECONDS = int(os.environ.get("ASSIGNMENT_TIMEOUT_SECONDS", str(2 * 3600)))
# Agreement over more submitted annotations than this is computed by a worker (the
# endpoint answers 202 with the job); below it, in the request. Either way it is cached
# until an annotation changes.
AGREEMENT_SYNC_MAX_ANNOTATIONS = int(os.environ.get("AGREEMENT_SYNC_MAX_ANNOTATIONS", "5000"))

# Size limits (README, "Security"): larger input is refused with a 400/413 naming the limit, an import
# fails its job naming the line. Documents longer than DOCUMENT_MAX_CHARACTERS (code points) are
# refused everywhere they are created; a POST of more than DOCUMENTS_MAX_PER_POST documents should
# be an import; an import's file is at most IMPORT_MAX_FILE_BYTES; the tokens endpoint, /next/ and
# the review bundle give at most TOKENS_PAGE_SIZE tokens per response (the rest by ?offset=).
DOCUMENT_MAX_CHARACTERS = int(os.environ.get("DOCUMENT_MAX_CHARACTERS", "1000000"))
DOCUMENTS_MAX_PER_POST = int(os.environ.get("DOCUMENTS_MAX_PER_POST", "1000"))
IMPORT_MAX_FILE_BYTES = int(os.environ.get("IMPORT_MAX_FILE_BYTES", str(512 * 1024 * 1024)))
TOKENS_PAGE_SIZE = int(os.environ.get("TOKENS_PAGE_SIZE", "50000"))
