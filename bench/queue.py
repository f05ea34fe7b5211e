"""Queue benchmark: concurrent annotators doing next -> PUT -> submit over real HTTP against gunicorn on PostgreSQL.

    .venv/bin/python bench/queue.py [--users 50] [--duration 60] [--documents 100000] [--k 2]
                                    [--workers 3] [--threads 4] [--think 0] [--keep]

It creates a throwaway PostgreSQL database (``annotator_bench_queue_<pid>`` on
the server of DATABASE_URL, default postgres://postgres@127.0.0.1:5432),
migrates it, and creates through the actions a project with
``annotators_per_document = k``, ``--documents`` one-sentence documents and
``--users`` annotators with API tokens. It serves that with gunicorn
(``--workers`` processes of ``--threads`` threads, DEBUG off, persistent
connections) and runs ``--users`` threads, each an annotator with a
keep-alive HTTP session, for ``--duration`` seconds:

    GET  /api/v1/projects/{id}/next/            -> a document (its tokens give a span)
    PUT  /api/v1/documents/{id}/annotation/     one span, in progress, version 0
    PUT  /api/v1/documents/{id}/annotation/     the same, submitted, version 1

With ``--think S`` each annotator pauses S seconds before every request (a
person reading and labelling); the default 0 measures the server saturated:
then latency is mostly waiting in gunicorn's queue (users / throughput).

Printed: requests per second, p50 / p95 / p99 latency per endpoint (client
side, queueing in gunicorn included), errors (anything but 200, and 204 from
/next/; must be zero), and afterwards, from the database, that no document has
more than k annotators, that every document's assignee_count equals its
assignments, and how many documents reached k submissions.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
# This file is named like the standard library's queue module: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(BASE_DIR))
PYTHON = sys.executable
TEXT = "Document {i}: rebels led by HTS seized Aleppo and Homs on Tuesday, officials in Damascus said."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/annotator")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/" + name))


def admin_dsn() -> str:
    return database_url("postgres").replace("postgres://", "postgresql://", 1)


def run_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_dsn(), autocommit=True) as connection:
        connection.execute(sql)


def seed(env: dict, users: int, documents: int, k: int) -> dict:
    """Migrate and create the project, in a child process on the bench database; returns ids and tokens."""
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    script = f"""
import json, django
django.setup()
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
User = get_user_model()
admin = User.objects.create_user("bench-admin", password="x")
project = do_create_project(acting_user=admin, name="Queue bench", annotators_per_document={k})
for name in ("GPE", "ORG", "PERSON"):
    do_create_label(project, acting_user=admin, name=name)
tokens = []
for i in range({users}):
    user = User.objects.create_user(f"bench-{{i}}", password="x")
    do_add_member(project, user.username, "annotator", acting_user=admin)
    tokens.append(Token.objects.create(user=user).key)
for start in range(0, {documents}, 5000):
    do_create_documents(project, [{{"text": {TEXT!r}.format(i=i)}} for i in range(start, min({documents}, start + 5000))],
                        acting_user=admin)
print(json.dumps({{"project": project.pk, "tokens": tokens}}))
"""
    out = subprocess.run([PYTHON, "-c", script], cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def check(env: dict, project: int, k: int) -> dict:
    script = f"""
import json, django
django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute("SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) n FROM projects_assignment WHERE project_id = %s GROUP BY document_id) t", [{project}])
    most_holders = c.fetchone()[0]
    c.execute("SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) n FROM projects_annotation a JOIN projects_document d ON d.id = a.document_id WHERE d.project_id = %s AND NOT a.is_gold GROUP BY a.document_id) t", [{project}])
    most_annotators = c.fetchone()[0]
    c.execute("SELECT COUNT(*) FROM projects_document d WHERE d.project_id = %s AND d.assignee_count <> (SELECT COUNT(*) FROM projects_assignment a WHERE a.document_id = d.id)", [{project}])
    miscounted = c.fetchone()[0]
    c.execute("SELECT COUNT(*) FROM projects_document WHERE project_id = %s AND status = 'submitted'", [{project}])
    complete = c.fetchone()[0]
    c.execute("SELECT COUNT(*) FROM projects_annotation a JOIN projects_document d ON d.id = a.document_id WHERE d.project_id = %s AND a.status = 'submitted'", [{project}])
    submitted = c.fetchone()[0]
print(json.dumps(dict(most_holders=most_holders, most_annotators=most_annotators, miscounted=miscounted,
                      complete=complete, submitted=submitted)))
"""
    out = subprocess.run([PYTHON, "-c", script], cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def annotate(base: str, project: int, token: str, stop_at: float, record, errors, think: float = 0) -> None:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"

    def call(name, method, url, **kwargs):
        if think:
            time.sleep(think)
        started = time.perf_counter()
        response = session.request(method, base + url, timeout=60, **kwargs)
        record(name, time.perf_counter() - started)
        ok = response.status_code == 200 or (name == "next" and response.status_code == 204)
        if not ok:
            errors.append(f"{name} {response.status_code}: {response.text[:200]}")
        return response if ok else None

    if think:
        time.sleep(random.uniform(0, think))  # people do not all start on the same millisecond
    while time.monotonic() < stop_at:
        response = call("next", "GET", f"/api/v1/projects/{project}/next/")
        if response is None or response.status_code == 204:
            if response is None:
                time.sleep(0.1)
                continue
            return
        bundle = response.json()
        document = bundle["document"]["id"]
        word = next(t for t in bundle["tokens"] if t["text"] == "Aleppo")
        span = [{"id": 1, "start": word["start"], "end": word["end"], "label": "GPE"}]
        version = bundle["annotation"]["version"]
        url = f"/api/v1/documents/{document}/annotation/"
        saved = call("put", "PUT", url, json={"spans": span, "version": version, "status": "in_progress"})
        if saved is None:
            continue
        call("submit", "PUT", url, json={"spans": span, "version": saved.json()["version"], "status": "submitted"})


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--think", type=float, default=0, help="seconds each annotator waits before a request")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    name = f"annotator_bench_queue_{os.getpid()}"
    env = {**os.environ, "DATABASE_URL": database_url(name), "DJANGO_SETTINGS_MODULE": "annotator.settings",
           "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "bench-only-not-secret", "ALLOWED_HOSTS": "127.0.0.1",
           "DATABASE_CONN_MAX_AGE": "600", "LOG_LEVEL": "ERROR", "ANNOTATOR_VAR_DIR": tempfile.mkdtemp(),
           "DJANGO_STATIC_ROOT": tempfile.mkdtemp()}
    env.pop("CELERY_BROKER_URL", None)
    run_sql(f'CREATE DATABASE "{name}"')
    server = None
    try:
        started = time.perf_counter()
        seeded = seed(env, args.users, args.documents, args.k)
        print(f"seeded {args.documents:,} documents, {args.users} annotators, k={args.k} "
              f"in {time.perf_counter() - started:.0f} s")
        port = free_port()
        server = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "annotator.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--threads", str(args.threads), "--worker-class", "gthread",
             "--keep-alive", "30", "--log-level", "warning"], cwd=BASE_DIR, env=env)
        base = f"http://127.0.0.1:{port}"
        import requests

        deadline = time.monotonic() + 120  # workers import Django and spaCy first
        while True:
            try:
                requests.get(base + "/api/v1/projects/", timeout=30)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        warm = {"Authorization": f"Token {seeded['tokens'][0]}"}
        first = requests.get(f"{base}/api/v1/projects/{seeded['project']}/documents/?page_size=1", headers=warm,
                             timeout=60).json()["results"][0]["id"]
        for _ in range(args.workers * args.threads * 2):  # every worker loads spaCy once, before the clock runs
            requests.get(f"{base}/api/v1/projects/{seeded['project']}/documents/{first}/tokens/", headers=warm,
                         timeout=60)

        timings: dict[str, list[float]] = defaultdict(list)
        lock = threading.Lock()
        errors: list[str] = []

        def record(endpoint, seconds):
            with lock:
                timings[endpoint].append(seconds)

        stop_at = time.monotonic() + args.duration
        begun = time.perf_counter()
        threads = [threading.Thread(target=annotate, args=(base, seeded["project"], token, stop_at, record, errors, args.think))
                   for token in seeded["tokens"]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - begun

        total = sum(len(v) for v in timings.values())
        print(f"{args.users} annotators for {elapsed:.1f} s on {os.cpu_count()} cores "
              f"(gunicorn {args.workers} workers x {args.threads} threads, think {args.think:g} s)")
        print(f"requests: {total:,} ({total / elapsed:.0f}/s), errors: {len(errors)}")
        print(f"{'endpoint':8} {'count':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for endpoint in ("next", "put", "submit"):
            values = timings.get(endpoint, [])
            if values:
                print(f"{endpoint:8} {len(values):>8,} {1000 * statistics.median(values):>8.1f} "
                      f"{1000 * percentile(values, 95):>8.1f} {1000 * percentile(values, 99):>8.1f}")
        for error in errors[:10]:
            print("error:", error)
        figures = check(env, seeded["project"], args.k)
        print(f"documents with k={args.k} submissions: {figures['complete']:,}; submitted annotations: "
              f"{figures['submitted']:,}; most holders of a document: {figures['most_holders']}, most annotators: "
              f"{figures['most_annotators']}; documents whose count disagrees with their assignments: "
              f"{figures['miscounted']}")
        ok = not errors and figures["most_holders"] <= args.k and figures["most_annotators"] <= args.k \
            and not figures["miscounted"]
        print("OK: no document exceeds k annotators, zero errors" if ok else "FAILED")
        if not ok:
            sys.exit(1)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep:
            run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
