import os
import threading

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")

app = Celery("annotator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def workers_connect_without_a_pool(**kwargs):
    """A worker (``celery worker``, before it forks) takes the web's connection pool out of the settings.

    Celery closes a task's database connections before and after each task (and with the prefork
    pool it would close a whole pool after each task), so a pool would keep nothing: each worker
    process holds one connection while it runs a task (shared by an import's COPY thread and an
    export's read-ahead thread) and one for the task's heartbeat thread.
    """
    from django.conf import settings

    for database in settings.DATABASES.values():
        if database.get("OPTIONS", {}).pop("pool", None):
            database["CONN_MAX_AGE"] = 0


@signals.worker_ready.connect
def workers_sweep_lost_jobs(**kwargs):
    """Every worker sweeps jobs whose worker died, now and every ``JOB_SWEEP_SECONDS`` (a thread of the main
    process), so a lost pre-labelling chunk is sent again whether or not anyone reads the job."""
    from projects.tasks import sweep_lost_jobs_every

    threading.Thread(target=sweep_lost_jobs_every, name="job-sweeper", daemon=True).start()
