"""Test settings: the same product, with fast hashing, a private cache and media folder,
and a queue of its own so a test worker never takes another process's tasks."""

import os
import tempfile
import uuid

from annotator.settings import *  # noqa: F403

# DEBUG stays off, as in production, where the product refuses to start without a key.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "test-only-not-secret-" + "k" * 40

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-process cache: a test worker runs in the test process, so it shares it.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MEDIA_ROOT = tempfile.mkdtemp(prefix="annotator-test-media-")
CELERY_TASK_DEFAULT_QUEUE = f"annotator-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
# Most tests run tasks inline; tests that need the worker start one (tests/conftest.py).
CELERY_TASK_ALWAYS_EAGER = True
# Tests make many anonymous calls in a minute: a rate no test reaches, except the throttling tests, which set
# their own (tests/projects/test_throttling.py). Login lockout keeps the product's settings: each test starts
# with no failed logins (its database rows are rolled back or flushed).
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute"}}  # noqa: F405
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405

# A test database of this run's own, so parallel runs on one server never drop each other's.
DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME'] or 'annotator'}_{os.getpid()}"}  # noqa: F405
# The test process is many web threads at once (tests/curation/test_queue_concurrency.py: 12 annotators meet at a
# barrier, each holding a connection): a pool as large as they need, its idle connections closed after a minute.
if "pool" in DATABASES["default"].get("OPTIONS", {}):  # noqa: F405
    DATABASES["default"]["OPTIONS"]["pool"] = {**DATABASES["default"]["OPTIONS"]["pool"],  # noqa: F405
                                               "max_size": 20, "max_idle": 60}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {}  # in-memory  # noqa: F405
# Trained models this process loads are unpacked here (pipelines.archives), not in the checkout's var/.
MODEL_CACHE_DIR = tempfile.mkdtemp(prefix="annotator-test-model-cache-")
