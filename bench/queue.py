"""Queue benchmark: concurrent annotators doing next -> PUT -> submit over real HTTP against gunicorn on PostgreSQL.

    .venv/bin/python bench/queue.py [--users 50] [--duration 60] [--documents 100000] [--k 2]
                                    [--workers 2] [--threads 2] [--think 0] [--keep | --reuse DATABASE]

It creates a throwaway PostgreSQL database (``annotator_bench_queue_<pid>`` on
the server of DATABASE_URL, default postgres://postgres@127.0.0.1:5432),
migrates it, and creates through the actions a project with
``annotators_per_document = k``, ``--documents`` one-sentence documents and
``--users`` annotators with API tokens (``--reuse`` runs again on a database
a ``--keep`` run left). It serves that with gunicorn (``--workers`` processes
of ``--threads`` threads, DEBUG off, persistent connections) and runs
``--users`` threads, each an annotator with a keep-alive HTTP connection of
its own (``http.client``: the clients share the machine with the server, so
they are kept light), for ``--duration`` seconds:

    GET  /api/v1/projects/{id}/next/            -> a document (its tokens give a span)
    PUT  /api/v1/documents/{id}/annotation/     one span, in progress, version 0
    PUT  /api/v1/documents/{id}/annotation/     the same, submitted, version 1

With ``--think S`` each annotator pauses S seconds before every request (a
person reading and labelling); the default 0 measures the server saturated:
then latency is mostly waiting in gunicorn's queue (users / throughput).

Printed: requests per second, p50 / p95 / p99 latency per endpoint (client
side, queueing in gunicorn included), errors (anything but 200, and 204 from
/next/; must be zero), the CPU time per request of gunicorn, PostgreSQL's
backends of the bench database, the clients and the whole machine (Linux
/proc; what other processes took shows how idle the machine was), and
afterwards, from the database, that no document has more than k annotators,
that every document's assignee_count equals its assignments, and how many
documents reached k submissions.
"""

from __future__ import annotations

import argparse
import http.client
import json
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
    return json.loads(out.stdout.strip().splitlines()[-1])


def reused(env: dict, users: int) -> dict:
    """The project, k and the first ``users`` annotators' tokens of a database a --keep run left."""
    script = f"""
import json, django
django.setup()
from rest_framework.authtoken.models import Token
from projects.models import Project
project = Project.objects.get(name="Queue bench")
tokens = [t.key for t in sorted(Token.objects.filter(user__username__regex=r"^bench-[0-9]+$").select_related("user"),
                                key=lambda t: int(t.user.username.split("-")[1]))][:{users}]
print(json.dumps({{"project": project.pk, "k": project.annotators_per_document, "tokens": tokens,
                  "documents": project.documents.count()}}))
"""
    out = subprocess.run([PYTHON, "-c", script], cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True)
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
    return json.loads(out.stdout.strip().splitlines()[-1])


def annotate(base: str, project: int, token: str, stop_at: float, record, errors, think: float = 0) -> None:
    """One annotator: a keep-alive connection of its own (http.client: the clients share the cores with the
    server, so they should cost it as little as they can)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection(host, port, timeout=60)

    def call(name, method, url, body=None):
        nonlocal connection
        if think:
            time.sleep(think)
        started = time.perf_counter()
        try:
            connection.request(method, url, body=None if body is None else json.dumps(body), headers=headers)
            response = connection.getresponse()
            status, payload = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            record(name, time.perf_counter() - started)
            errors.append(f"{name}: {exc!r}")
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=60)
            return None
        record(name, time.perf_counter() - started)
        ok = status == 200 or (name == "next" and status == 204)
        if not ok:
            errors.append(f"{name} {status}: {payload[:200]!r}")
            return None
        return json.loads(payload) if status == 200 else {}

    if think:
        time.sleep(random.uniform(0, think))  # people do not all start on the same millisecond
    while time.monotonic() < stop_at:
        bundle = call("next", "GET", f"/api/v1/projects/{project}/next/")
        if bundle is None:
            time.sleep(0.1)
            continue
        if not bundle:  # 204: nothing left for this annotator
            return
        document = bundle["document"]["id"]
        word = next(t for t in bundle["tokens"] if t["text"] == "Aleppo")
        span = [{"id": 1, "start": word["start"], "end": word["end"], "label": "GPE"}]
        version = bundle["annotation"]["version"]
        url = f"/api/v1/documents/{document}/annotation/"
        saved = call("put", "PUT", url, {"spans": span, "version": version, "status": "in_progress"})
        if saved is None:
            continue
        call("submit", "PUT", url, {"spans": span, "version": saved["version"], "status": "submitted"})
    connection.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far, from /proc; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core spent not idle since boot (/proc/stat), all processes together."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def server_pids(master: int) -> list[int]:
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            return [master, *map(int, f.read().split())]
    except OSError:
        return [master]


def postgres_pids(database: str) -> list[int]:
    """The PostgreSQL backends serving ``database`` on this machine (their titles name it)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    title = f.read().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                pids.append(int(entry))
    return pids


class CpuMeter:
    """CPU seconds of the server (gunicorn), PostgreSQL, this client process and the whole machine over a window.

    Per process, so a PostgreSQL backend that starts during the window counts from zero."""

    def __init__(self, master: int, database: str):
        self.master, self.database = master, database
        self.available = os.path.exists("/proc/stat")

    def read(self) -> dict:
        if not self.available:
            return {}
        return {"server": {pid: cpu_seconds(pid) for pid in server_pids(self.master)},
                "postgres": {pid: cpu_seconds(pid) for pid in postgres_pids(self.database)},
                "client": sum(os.times()[:2]), "machine": machine_busy_seconds()}

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        spent = {key: after[key] - before[key] for key in ("client", "machine")}
        for key in ("server", "postgres"):
            spent[key] = sum(seconds - before[key].get(pid, 0.0) for pid, seconds in after[key].items())
        spent["processes"] = len(after["postgres"])
        return spent


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=2)
    # One worker per core, two threads each to overlap database waits: on 2 cores, 3 x 4 spent about a quarter
    # more CPU per request (GIL hand-offs, 12 backends) and doubled p95 at the same paced load.
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--think", type=float, default=0, help="seconds each annotator waits before a request")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="DATABASE",
                        help="run on a database a --keep run left (its project and annotators; not dropped)")
    args = parser.parse_args()

    name = args.reuse or f"annotator_bench_queue_{os.getpid()}"
    env = {**os.environ, "DATABASE_URL": database_url(name), "DJANGO_SETTINGS_MODULE": "annotator.settings",
           "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "bench-only-not-secret", "ALLOWED_HOSTS": "127.0.0.1",
           "DATABASE_CONN_MAX_AGE": "600", "LOG_LEVEL": "ERROR", "ANNOTATOR_VAR_DIR": tempfile.mkdtemp(),
           "DJANGO_STATIC_ROOT": tempfile.mkdtemp()}
    env.pop("CELERY_BROKER_URL", None)
    if not args.reuse:
        run_sql(f'CREATE DATABASE "{name}"')
    server = None
    try:
        started = time.perf_counter()
        if args.reuse:
            seeded = reused(env, args.users)
            print(f"reusing {name}: {seeded['documents']:,} documents, {len(seeded['tokens'])} annotators, "
                  f"k={seeded['k']}")
        else:
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

        meter = CpuMeter(server.pid, name)
        stop_at = time.monotonic() + args.duration
        cpu_before = meter.read()
        begun = time.perf_counter()
        threads = [threading.Thread(target=annotate, args=(base, seeded["project"], token, stop_at, record, errors, args.think))
                   for token in seeded["tokens"]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - begun
        cpu_after = meter.read()

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
        if cpu_after and total:
            spent = CpuMeter.spent(cpu_before, cpu_after)
            others = spent["machine"] - spent["server"] - spent["postgres"] - spent["client"]
            per = {key: 1000 * spent[key] / total for key in ("server", "postgres", "client", "machine")}
            print(f"CPU per request: gunicorn {per['server']:.1f} ms, PostgreSQL {per['postgres']:.1f} ms "
                  f"({spent['processes']} backends), clients {per['client']:.1f} ms; whole machine "
                  f"{per['machine']:.1f} ms, of which other processes {1000 * others / total:.1f} ms; "
                  f"busy {spent['machine'] / elapsed:.2f} of {os.cpu_count()} cores")
        for error in errors[:10]:
            print("error:", error)
        k = seeded.get("k", args.k)
        figures = check(env, seeded["project"], k)
        print(f"documents with k={k} submissions: {figures['complete']:,}; submitted annotations: "
              f"{figures['submitted']:,}; most holders of a document: {figures['most_holders']}, most annotators: "
              f"{figures['most_annotators']}; documents whose count disagrees with their assignments: "
              f"{figures['miscounted']}")
        ok = not errors and figures["most_holders"] <= k and figures["most_annotators"] <= k \
            and not figures["miscounted"]
        print("OK: no document exceeds k annotators, zero errors" if ok else "FAILED")
        if not ok:
            sys.exit(1)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep and not args.reuse:
            run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
