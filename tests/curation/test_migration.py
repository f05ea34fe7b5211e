"""The migration that brings assignments: everyone who already annotated a document holds it, counts follow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("projects", "0003_label_restrict")]
AFTER = [("projects", "0004_curation")]


@pytest.mark.django_db(transaction=True)
def test_existing_annotations_become_assignments_and_counts():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Project, Document, Annotation = (old.get_model("projects", name) for name in ("Project", "Document", "Annotation"))
    ann, bob = User.objects.create(username="ann"), User.objects.create(username="bob")
    project = Project.objects.create(name="Old", annotators_per_document=2)
    first, second, third = (Document.objects.create(project=project, text=f"Text {i}.", content_hash=str(i))
                            for i in range(3))
    Annotation.objects.create(document=first, annotator=ann, status="submitted")
    Annotation.objects.create(document=first, annotator=bob, status="in_progress")
    Annotation.objects.create(document=second, annotator=bob, status="submitted")
    Annotation.objects.create(document=second, annotator=None, is_gold=True, status="submitted")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Assignment, Document = new.get_model("projects", "Assignment"), new.get_model("projects", "Document")
    held = sorted(Assignment.objects.values_list("document_id", "annotator__username", "project_id"))
    assert held == sorted([(first.pk, "ann", project.pk), (first.pk, "bob", project.pk),
                           (second.pk, "bob", project.pk)])
    assert Assignment.objects.get(document_id=first.pk, annotator__username="ann").submitted_at is not None
    assert Assignment.objects.get(document_id=first.pk, annotator__username="bob").submitted_at is None
    counts = dict(Document.objects.values_list("pk", "assignee_count"))
    assert counts == {first.pk: 2, second.pk: 1, third.pk: 0}
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for the tests after this one
