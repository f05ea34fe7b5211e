"""The queue under load on PostgreSQL: many annotators asking /next/ at the same instant, on real connections.

Each thread is one annotator with a connection of its own (Django's are per
thread), so the row locks are real. A barrier makes every thread ask at once,
round after round; between rounds they submit what they got. At the end every
document has exactly k annotators: none more (no slot given twice), none fewer
(none lost while rows were locked and skipped).
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from django.db import connections
from django.db.models import Count, Q
from rest_framework.test import APIClient

from projects.actions.documents import do_create_documents
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project, do_update_project
from projects.actions.suggestions import do_store_document_scores
from projects.models import Annotation, Assignment, Document
from tests.conftest import require

pytestmark = pytest.mark.postgres

THREADS = 12
DOCUMENTS = 40
K = 3


@pytest.fixture
def busy_project(transactional_db, django_user_model):
    require(connections["default"].vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    admin = django_user_model.objects.create_user("boss", password="pw")
    project = do_create_project(acting_user=admin, name="Busy", annotators_per_document=K)
    people = []
    for i in range(THREADS):
        people.append(django_user_model.objects.create_user(f"ann{i}", password="pw"))
        do_add_member(project, f"ann{i}", "annotator", acting_user=admin)
    do_create_documents(project, [{"text": f"Document number {i} is here."} for i in range(DOCUMENTS)],
                        acting_user=admin)
    return project, people


@pytest.mark.parametrize("queue_order", ["sequential", "random", "uncertainty"])
def test_many_annotators_asking_at_once_give_every_document_exactly_k_annotators(busy_project, queue_order):
    project, people = busy_project
    do_update_project(project, acting_user=project.created_by, queue_order=queue_order)
    if queue_order == "uncertainty":  # half the documents scored, the rest after them
        rng = random.Random(3)
        scored = Document.objects.filter(project=project).order_by("?").values_list("pk", flat=True)[:DOCUMENTS // 2]
        do_store_document_scores(project, {pk: rng.random() for pk in scored}, model="m", version="1")
    barrier = threading.Barrier(THREADS)
    got: dict[str, list[int]] = {}
    errors: list[str] = []

    def annotator(user):
        client = APIClient()
        client.force_authenticate(user)
        mine = got.setdefault(user.username, [])
        try:
            while True:
                barrier.wait(timeout=60)  # everyone asks at the same instant
                response = client.get(f"/api/v1/projects/{project.pk}/next/")
                if response.status_code == 204:
                    break
                if response.status_code != 200:
                    errors.append(f"{user.username}: next {response.status_code} {response.content[:200]!r}")
                    break
                document_id = response.json()["document"]["id"]
                mine.append(document_id)
                put = client.put(f"/api/v1/documents/{document_id}/annotation/",
                                 {"spans": [], "version": 0, "status": "submitted"}, format="json")
                if put.status_code != 200:
                    errors.append(f"{user.username}: put {put.status_code} {put.content[:200]!r}")
                    break
        except threading.BrokenBarrierError:
            pass  # someone finished; the rest go on without the barrier's lockstep
        finally:
            barrier.abort()
            while True:  # finish on one's own
                response = client.get(f"/api/v1/projects/{project.pk}/next/")
                if response.status_code != 200:
                    break
                document_id = response.json()["document"]["id"]
                mine.append(document_id)
                client.put(f"/api/v1/documents/{document_id}/annotation/",
                           {"spans": [], "version": 0, "status": "submitted"}, format="json")
            connections.close_all()

    threads = [threading.Thread(target=annotator, args=(user,)) for user in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    handed = Counter(document_id for ids in got.values() for document_id in ids)
    assert all(len(ids) == len(set(ids)) for ids in got.values()), "someone got a document twice"
    assert set(handed.values()) == {K}, "a document went to more or fewer than k annotators"
    assert len(handed) == DOCUMENTS
    rows = Document.objects.filter(project=project).annotate(
        held=Count("assignments", distinct=True),
        done=Count("annotations", filter=Q(annotations__status="submitted"), distinct=True))
    assert {(d.held, d.done, d.assignee_count, d.status) for d in rows} == {(K, K, K, "submitted")}
    assert Assignment.objects.filter(project=project).count() == Annotation.objects.count() == K * DOCUMENTS
    # Work is shared: everyone who asked got some.
    assert min(len(ids) for ids in got.values()) >= 1


def test_annotators_submitting_one_document_at_the_same_instant_leave_its_status_and_disagreement_right(
        busy_project):
    """Each save computes the status and disagreement from what it read under the document's lock: saves that
    race must still end with what a recount gives (k submitted: "submitted"; 1 - mean pairwise F1)."""
    from projects.spans import disagreement

    project, people = busy_project
    writers = people[:K]
    documents = list(Document.objects.filter(project=project).order_by("id")[:10])
    barrier = threading.Barrier(K)
    errors: list[str] = []

    def annotator(i, user):
        client = APIClient()
        client.force_authenticate(user)
        try:
            for document in documents:
                # "Document number N is here.": everyone marks "Document", the first also "number"
                spans = [{"id": 1, "start": 0, "end": 8, "label": "X"}]
                if i == 0:
                    spans.append({"id": 2, "start": 9, "end": 15, "label": "X"})
                barrier.wait(timeout=60)
                put = client.put(f"/api/v1/documents/{document.pk}/annotation/",
                                 {"spans": spans, "version": 0, "status": "submitted"}, format="json")
                if put.status_code != 200:
                    errors.append(f"{user.username}: {put.status_code} {put.content[:200]!r}")
        finally:
            connections.close_all()

    from projects.actions.labels import do_create_label

    do_create_label(project, acting_user=None, name="X")
    threads = [threading.Thread(target=annotator, args=(i, user)) for i, user in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    expected = round(disagreement([{(0, 8), (9, 15)}] + [{(0, 8)}] * (K - 1)), 6)
    for document in Document.objects.filter(pk__in=[d.pk for d in documents]):
        assert (document.status, document.disagreement) == ("submitted", expected)


def test_explicit_assignments_and_free_slots_never_hand_one_document_twice(busy_project, django_user_model):
    """An admin assigns documents to annotators while they all pull from the queue: every document
    still ends with exactly k annotators, and nobody is handed a document twice."""
    import random

    project, people = busy_project
    admin = django_user_model.objects.get(username="boss")
    got: dict[str, list[int]] = {user.username: [] for user in people}
    errors: list[str] = []
    started = threading.Event()
    document_ids = list(Document.objects.filter(project=project).values_list("pk", flat=True))

    def work(client, username):
        while True:
            response = client.get(f"/api/v1/projects/{project.pk}/next/")
            if response.status_code == 204:
                return
            if response.status_code != 200:
                errors.append(f"{username}: next {response.status_code} {response.content[:200]!r}")
                return
            document_id = response.json()["document"]["id"]
            got[username].append(document_id)
            put = client.put(f"/api/v1/documents/{document_id}/annotation/",
                             {"spans": [], "version": 0, "status": "submitted"}, format="json")
            if put.status_code != 200:
                errors.append(f"{username}: put {put.status_code} {put.content[:200]!r}")
                return

    def annotator(user):
        client = APIClient()
        client.force_authenticate(user)
        started.wait(timeout=30)
        try:
            work(client, user.username)
        finally:
            connections.close_all()

    def assigner():
        client = APIClient()
        client.force_authenticate(admin)
        rng = random.Random(7)
        started.set()
        try:
            for _ in range(60):
                who = rng.choice(people).username
                chosen = rng.sample(document_ids, 2)
                response = client.post(f"/api/v1/projects/{project.pk}/assignments/",
                                       {"documents": chosen, "annotator": who}, format="json")
                if response.status_code not in (200, 409):  # 409: a document already has its k
                    errors.append(f"assign {response.status_code} {response.content[:200]!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=annotator, args=(user,)) for user in people]
    threads.append(threading.Thread(target=assigner))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    for user in people:  # what was assigned to someone after their queue ran dry
        client = APIClient()
        client.force_authenticate(user)
        work(client, user.username)
    assert errors == []
    assert all(len(ids) == len(set(ids)) for ids in got.values()), "someone got a document twice"
    handed = Counter(document_id for ids in got.values() for document_id in ids)
    assert set(handed.values()) == {K} and len(handed) == DOCUMENTS
    rows = Document.objects.filter(project=project).annotate(
        held=Count("assignments", distinct=True),
        done=Count("annotations", filter=Q(annotations__status="submitted"), distinct=True))
    assert {(d.held, d.done, d.assignee_count, d.status) for d in rows} == {(K, K, K, "submitted")}
    assert Assignment.objects.filter(project=project, assigned_by__isnull=False).exists()
