"""Safe defaults: DEBUG is off unless DJANGO_DEBUG says otherwise, no start without a secret key then,
`check --deploy` is clean with the README's production variables, and a server with DEBUG off and no
`collectstatic` serves its pages and static files and never shows a debug page. Each in a subprocess with
the product's own settings (annotator.settings), as `make run`, gunicorn and the README start it."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
DEBUG_PAGE_SIGNS = ("Traceback", "DATABASE", "SECRET", "settings.py", "Django Version", "Request Method")


def product_env(**extra) -> dict:
    """The environment of a fresh shell: none of this process's Django variables, SQLite in a folder of its own."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("DJANGO_", "DATABASE_", "CELERY_", "REDIS_", "ALLOWED_HOSTS", "CSRF_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "annotator.settings", "LOG_LEVEL": "WARNING",
                "ANNOTATOR_VAR_DIR": tempfile.mkdtemp(prefix="annotator-defaults-test-"),
                "DJANGO_STATIC_ROOT": tempfile.mkdtemp(prefix="annotator-no-collectstatic-")})
    env.update(extra)
    return env


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=120)


SHOW_DEBUG = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def test_debug_is_off_when_DJANGO_DEBUG_is_unset():
    done = run_python(SHOW_DEBUG, product_env(DJANGO_SECRET_KEY=secrets.token_urlsafe(50)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_with_debug_off_nothing_starts_without_a_secret_key():
    done = run_python(SHOW_DEBUG, product_env())
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr and "DJANGO_DEBUG=true" in done.stderr
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=product_env(),
                           capture_output=True, text=True, timeout=120)
    assert check.returncode != 0 and "DJANGO_SECRET_KEY is not set" in check.stderr


def test_make_runs_demo_turns_debug_on_and_needs_no_key():
    makefile = (BASE_DIR / "Makefile").read_text()
    assert "run: export DJANGO_DEBUG ?= true" in makefile
    done = run_python(SHOW_DEBUG, product_env(DJANGO_DEBUG="true"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def readme_production_variables() -> dict[str, str]:
    """The `export NAME=value` lines of the README's production setup, as a shell would set them."""
    readme = (BASE_DIR / "README.md").read_text()
    section = readme[readme.index("## Production-like setup"):]
    block = section[section.index("```bash"):section.index("```", section.index("```bash") + 3)]
    variables = {}
    for line in block.splitlines():
        if line.startswith("export "):
            for assignment in shlex.split(line.removeprefix("export "), comments=True):
                name, _, value = assignment.partition("=")
                variables[name] = value
    variables["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)  # what the README's $(python3 -c ...) makes
    return variables


def test_check_deploy_gives_no_warning_with_the_readme_production_variables():
    variables = readme_production_variables()
    for name in ("DJANGO_DEBUG", "DJANGO_SECURE_SSL_REDIRECT", "DJANGO_SESSION_COOKIE_SECURE",
                 "DJANGO_CSRF_COOKIE_SECURE", "DJANGO_SECURE_HSTS_SECONDS"):
        assert name in variables, name
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=BASE_DIR, env=product_env(**variables), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_check_deploy_warns_without_them():
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=BASE_DIR,
                          env=product_env(DJANGO_SECRET_KEY=secrets.token_urlsafe(50)), capture_output=True,
                          text=True, timeout=120)
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stdout + done.stderr, warning


# A server as a fresh machine starts it with DEBUG off: no collectstatic, no DJANGO_DEBUG -----------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request(method, path, body=body, headers=headers or {})
        response = client.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        client.close()


def start_server(argv: list[str], env: dict, port: int) -> subprocess.Popen:
    """``argv`` (a server on 127.0.0.1:``port``) started, once it answers; the test fails with its log if it
    stops or does not answer within 90 s."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(argv, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            request(port, "GET", "/accounts/login/")
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                pytest.fail(f"the server did not start:\n{log.read().decode(errors='replace')[-3000:]}")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = product_env(DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    process = start_server([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], env, port)
    yield port
    process.terminate()
    process.wait(timeout=30)


def test_pages_and_their_static_files_are_served_with_debug_off_and_no_collectstatic(server):
    status, page = request(server, "GET", "/accounts/login/")
    assert status == 200, page[:500]
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', page).group(1)
    assert request(server, "GET", stylesheet)[0] == 200
    assert request(server, "GET", "/static/annotator/workspace/main.js")[0] == 200


def test_an_anonymous_deeply_nested_json_request_gets_no_debug_page(server):
    body = ("[" * 1000 + "]" * 1000).encode()
    nested = json.dumps({"username": "x", "password": "y"})[:-1].encode() + b', "deep": ' + body + b"}"
    for path in ("/api/v1/auth/token/", "/api/v1/projects/"):
        status, text = request(server, "POST", path, nested, {"Content-Type": "application/json"})
        assert status != 200
        leaked = [sign for sign in DEBUG_PAGE_SIGNS if sign in text]
        assert leaked == [], (path, status, text[:500])
    status, text = request(server, "GET", "/no/such/page/")
    assert status == 404 and not [sign for sign in DEBUG_PAGE_SIGNS if sign in text]
