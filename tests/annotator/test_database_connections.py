"""Database connections are bounded however the product is served: ``manage.py runserver`` and gunicorn as the
README runs it, each a subprocess on the test database, hit by several clients at once, every request on a new
HTTP connection (so request threads overlap, as browsers make them: sequential requests never showed the leak).

Before the connection pool, runserver kept a connection per finished request thread (``CONN_MAX_AGE=60``): 500
such requests left 43 connections open and reached 96 of the server's 100 ("too many clients" for everyone).
The connections are counted in ``pg_stat_activity`` by the server's own ``application_name``.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from projects.actions.accounts import do_issue_token
from tests.conftest import require

BASE_DIR = Path(__file__).resolve().parents[2]
REQUESTS, CLIENTS = 500, 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(**extra) -> dict:
    """The product's settings on the test database, tasks in-process, and an application_name of its own."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotator.settings",
           "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}",
           "PGAPPNAME": f"annotator-conn-test-{uuid.uuid4().hex[:8]}", "LOG_LEVEL": "WARNING",
           "ANNOTATOR_VAR_DIR": tempfile.mkdtemp(prefix="annotator-conn-test-"), **extra}
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "DATABASE_POOL_MAX_SIZE", "DATABASE_CONN_MAX_AGE"):
        if name not in extra:
            env.pop(name, None)
    return env


def connections_of(app_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                       [connection.settings_dict["NAME"], app_name])
        return cursor.fetchone()[0]


def get(port: int, token: str) -> int:
    """One request on a new HTTP connection, closed after it."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        client.request("GET", "/api/v1/projects/", headers={"Authorization": f"Token {token}", "Connection": "close"})
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()


def hammer(port: int, token: str, app_name: str) -> tuple[dict[int, int], int, int]:
    """REQUESTS requests from CLIENTS threads; the answers by status, the most connections seen, those left."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    left = iter(range(REQUESTS))

    def client() -> None:
        while True:
            with lock:
                if next(left, None) is None:
                    return
            status = get(port, token)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    peak = 0
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, connections_of(app_name))
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    time.sleep(0.5)  # what a finished request would still hold
    return statuses, max(peak, connections_of(app_name)), connections_of(app_name)


def serve(command: list[str], env: dict, port: int, token: str):
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            if get(port, token) == 200:
                return process, log
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.seek(0)
            pytest.fail(f"the server did not start:\n{log.read().decode(errors='replace')[-3000:]}")
        time.sleep(0.2)


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)


@pytest.fixture
def token(transactional_db, make_user):
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    return do_issue_token(make_user("reader"))


@pytest.mark.postgres
@pytest.mark.parametrize("server", ["runserver", "gunicorn"])
def test_500_overlapping_requests_leave_at_most_a_fixed_number_of_database_connections(token, server):
    port = free_port()
    if server == "runserver":  # `make run` with DATABASE_URL: one process, a thread per request
        env = server_env(DJANGO_DEBUG="true")
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        bound = 4  # the pool's default DATABASE_POOL_MAX_SIZE
    else:  # the README's production command and settings: 2 processes, 2 threads each, a pool of 2 per process
        env = server_env(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="connection-test-only", DATABASE_POOL_MAX_SIZE="2")
        command = [str(Path(sys.executable).parent / "gunicorn"), "annotator.wsgi:application",
                   "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"]
        bound = 2 * 2
    process, log = serve(command, env, port, token)
    try:
        statuses, peak, left = hammer(port, token, env["PGAPPNAME"])
    finally:
        stop(process)
        log.seek(0)
        output = log.read().decode(errors="replace")[-3000:]
    assert statuses == {200: REQUESTS}, output
    assert 0 < peak <= bound, (peak, output)
    assert left <= bound
    # And none once it stopped: a killed client's backend leaves pg_stat_activity a moment later, not at once.
    deadline = time.monotonic() + 10
    while connections_of(env["PGAPPNAME"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert connections_of(env["PGAPPNAME"]) == 0
