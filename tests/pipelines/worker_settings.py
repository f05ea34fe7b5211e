"""Settings for Celery worker subprocesses started by tests/pipelines/test_worker_kill.py.

The product's settings, plus broker transport options from the environment (a key
prefix of the test's own and a short visibility timeout, so unacknowledged messages
of a killed worker come back within seconds), and a private cache.
"""

import json
import os

from annotator.settings import *  # noqa: F403

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or "test-only-not-secret-" + "k" * 40  # DEBUG off, as in production

CELERY_BROKER_TRANSPORT_OPTIONS = json.loads(os.environ.get("ANNOTATOR_BROKER_TRANSPORT_OPTIONS", "{}"))
# Job ids repeat between databases; a shared Redis cache could mix cancel flags with other runs'.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
