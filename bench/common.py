"""What the benchmark scripts share: the generated corpus, the benchmark database, memory readings.

Run the scripts as ``python bench/<name>.py``; each puts the repository root
(not bench/, whose queue.py would shadow the standard library) on sys.path.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# ------------------------------------------------------------------------------------- the corpus

LABELS = ("PERSON", "GPE", "ORG")
FIRST = ["Amira", "Omar", "José", "Zoë", "Björn", "Chen", "Fatima", "Dmitri", "Ngozi", "Kenji", "Leila", "Tomás",
         "Ayşe", "Rania", "Pierre", "Ingrid", "Kwame", "Sofía", "Yusuf", "Mei"]
LAST = ["Haddad", "Khalil", "García", "Müller", "Wang", "Okafor", "Ivanova", "Tanaka", "Nasser", "Dubois",
        "Öztürk", "Mensah", "Novák", "Suárez", "Lindqvist", "Rahman"]
PLACES = ["Aleppo", "Homs", "São Paulo", "Zürich", "Damascus", "Kraków", "Lagos", "Osaka", "New York", "Québec",
          "Beirut", "Reykjavík", "Nairobi", "Izmir", "Córdoba", "Tbilisi"]
ORGS = ["United Nations", "Red Crescent", "Médecins Sans Frontières", "World Bank", "Reuters", "UNICEF",
        "World Health Organization", "Amnesty International", "Deutsche Welle", "Al Jazeera"]
# (label of {E}, sentence); {N} is a random number, so the vocabulary keeps growing as real text's does.
TEMPLATES = [
    ("PERSON", "Yesterday {E} said {N} people had moved to safer areas."),
    ("GPE", "Heavy rain in {E} closed {N} roads overnight."),
    ("ORG", "The {E} said {N} trucks would arrive before dark."),
    ("PERSON", "According to {E}, prices rose {N} percent this year."),
    ("GPE", "Residents of {E} queued as it fell to {N} degrees."),
    ("ORG", "The {E} reported on {N} villages near the border."),
    ("PERSON", "“We will rebuild,” said {E}, after {N} years."),
    ("GPE", "Flights from {E} resumed after {N} days, officials confirmed 🙂."),
]


def generate_document(n: int, rng: random.Random, sentences: int = 5) -> dict:
    """``sentences`` sentences, one entity each; offsets are code points, end exclusive."""
    parts, spans, offset = [], [], 0
    for _ in range(sentences):
        label, template = rng.choice(TEMPLATES)
        before, after = (piece.replace("{N}", str(rng.randrange(2, 100_000))) for piece in template.split("{E}"))
        if label == "PERSON":
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        else:
            name = rng.choice(PLACES if label == "GPE" else ORGS)
        start = offset + len(before)
        spans.append({"start": start, "end": start + len(name), "label": label})
        sentence = before + name + after
        parts.append(sentence)
        offset += len(sentence) + 1  # the joining space
    return {"text": " ".join(parts), "meta": {"n": n, "source": "bench"}, "spans": spans}


def write_corpus(path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for n in range(count):
            out.write(json.dumps(generate_document(n, rng), ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------------- set-up

def bench_database_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL must be a postgres:// URL")
    return urlunsplit(parts._replace(path="/" + name))


def ensure_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(database_url: str, media_root: str, queue: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_MEDIA_ROOT"] = media_root
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = queue
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret-" + "k" * 40)  # DEBUG off, as in production
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)


def vm_kib(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


class Workers:
    """``count`` solo-pool Celery worker subprocesses on the bench's queue, with this process's environment."""

    def __init__(self, count: int, queue: str):
        self.count, self.queue, self.processes, self.names = count, queue, [], []

    def __enter__(self) -> Workers:
        from annotator.celery import app

        for _ in range(self.count):
            name = f"bench-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
            log = tempfile.TemporaryFile()
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "annotator", "worker", "--pool", "solo", "-Q", self.queue,
                 "-n", name, "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=Path(__file__).resolve().parent.parent, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=log)
            self.processes.append((process, log))
            self.names.append(name)
        deadline = time.monotonic() + 120
        for (process, log), name in zip(self.processes, self.names):
            while not app.control.ping(destination=[name], timeout=0.5):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("a Celery worker did not start:\n" + log.read().decode(errors="replace"))
        return self

    def __exit__(self, *exc) -> None:
        for process, _ in self.processes:
            process.send_signal(signal.SIGTERM)
        for process, log in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
