"""Stored facts that no path can corrupt: a Hypothesis state machine drives random sequences of real
operations through the public surfaces (the API as admin, reviewer and annotators, imports, pre-labelling
with a rules model, gold saves and adoptions, reopening, assignments, Django admin form posts) and after
every step checks every invariant against a recount from scratch.

In CI it runs a bounded number of examples with a fixed seed; ``INVARIANTS_EXAMPLES=500`` (say) runs
more, with a random seed: ``INVARIANTS_EXAMPLES=500 make test PYTEST_ARGS="-k invariants"``.
"""

from __future__ import annotations

import itertools
import json
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count, Q
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from rest_framework.test import APIClient

from pipelines.actions import do_save_pipeline_settings
from projects.actions.annotations import document_status
from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from projects.models import Annotation, Document, GoldRevision, Project, Relation, Reopening, Span, Suggestion
from projects.overlap import phase_of, sample_flags, wanted
from projects.spans import disagreement
from projects.tokens import tokens_for_document

pytestmark = [pytest.mark.postgres]

EXAMPLES = int(os.environ.get("INVARIANTS_EXAMPLES", "0"))
TEXTS = [
    "Rebels led by HTS seized Aleppo and Homs.",
    "Assad’s allies 🇷🇺 Russia and Iran helped Damascus.",
    "叙利亚 Homs is a city in Syria, near Lebanon.",
    "Nothing happened in the village today.",
]
IMPORT_TEXTS = ["Iran and Russia met in Geneva.", "Aleppo fell 😀 quickly.", "No one came.", "HTS left Idlib."]
LABELS = ["GPE", "ORG", "PERSON"]
ANNOTATORS = ["ann1", "ann2", "ann3"]
RULES = '{"label": "GPE", "pattern": "Homs"}\n{"label": "GPE", "pattern": "Aleppo"}\n'
_names = itertools.count()


class Invariants(RuleBasedStateMachine):
    """One project per example, with an admin, a reviewer, three annotators and a few documents."""

    @initialize()
    def set_up(self):
        n = next(_names)
        users = type(self).user_model.objects
        self.users = {name: users.create_user(username=f"{name}-{n}", password="pw") for name in
                      ["admin", "reviewer", *ANNOTATORS]}
        self.root = users.create_user(username=f"root-{n}", password="pw", is_staff=True, is_superuser=True)
        admin = self.users["admin"]
        self.project = do_create_project(acting_user=admin, name=f"invariants {n}", annotators_per_document=2)
        do_add_member(self.project, self.users["reviewer"].username, "reviewer", acting_user=admin)
        for name in ANNOTATORS:
            do_add_member(self.project, self.users[name].username, "annotator", acting_user=admin)
        for label in LABELS:
            do_create_label(self.project, acting_user=admin, name=label, kind="entity")
        do_create_label(self.project, acting_user=admin, name="near", kind="relation")
        do_create_documents(self.project, [{"text": text} for text in TEXTS], acting_user=admin)
        do_save_pipeline_settings(self.project, patterns=RULES, acting_user=admin)
        self.clients = {}
        for name, user in self.users.items():
            self.clients[name] = APIClient()
            self.clients[name].force_authenticate(user)
        self.admin_site = Client()
        self.admin_site.force_login(self.root)
        self.max_k = 2
        self.versions: dict[int, int] = {}  # annotation id -> the highest version seen
        self.gold_versions: dict[int, int] = {}  # document id -> the highest gold version seen
        self.texts = {d.pk: (d.text, bytes(d.tokens)) for d in Document.objects.filter(project=self.project)}
        self.locked: dict[int, dict[int, int]] = {}  # reviewed, not reopened: document -> {annotation: version}

    # ------------------------------------------------------------------------------ helpers

    def documents(self) -> list[Document]:
        return list(Document.objects.filter(project=self.project).select_related("project").order_by("pk"))

    def draw_document(self, data) -> Document:
        """Mostly one of the first two documents, so that people meet on the same ones."""
        documents = self.documents()
        return data.draw(st.one_of(st.sampled_from(documents[:2]), st.sampled_from(documents)))

    @staticmethod
    def draw_spans(data, document: Document, *, most: int = 3) -> list[dict]:
        """Up to ``most`` spans on the document's tokens, sometimes overlapping (the project refuses those)."""
        tokens = tokens_for_document(document)
        words = [(s, e) for s, e in zip(tokens.starts, tokens.ends) if s in tokens.span_starts]
        spans = []
        for i in range(data.draw(st.integers(0, most))):
            first = data.draw(st.integers(0, len(words) - 1))
            last = data.draw(st.integers(first, min(first + 2, len(words) - 1)))
            spans.append({"id": i + 1, "start": words[first][0], "end": words[last][1],
                          "label": data.draw(st.sampled_from(LABELS))})
        return spans

    def annotation_body(self, name: str, document: Document) -> dict:
        response = self.clients[name].get(f"/api/v1/documents/{document.pk}/annotation/")
        assert response.status_code == 200, response.content
        return response.json()

    # ------------------------------------------------------------------------------ operations

    @rule(data=st.data(), who=st.sampled_from(ANNOTATORS))
    def take_the_next_document(self, data, who):
        response = self.clients[who].get(f"/api/v1/projects/{self.project.pk}/next/")
        assert response.status_code in (200, 204), response.content

    @rule(data=st.data(), who=st.sampled_from(ANNOTATORS))
    def submit_an_annotation(self, data, who):
        self.save_an_annotation(data, who, "submitted", False)

    @rule(data=st.data(), who=st.sampled_from(ANNOTATORS), status=st.sampled_from(["in_progress", "submitted"]),
          stale=st.sampled_from([False, False, False, True]))
    def save_an_annotation(self, data, who, status, stale):
        document = self.draw_document(data)
        current = self.annotation_body(who, document)
        spans = self.draw_spans(data, document)
        relations = [{"head": 1, "tail": 2, "label": "near"}] if len(spans) >= 2 and data.draw(st.booleans()) else []
        version = current["version"] - 1 if stale and current["version"] else current["version"]
        response = self.clients[who].put(f"/api/v1/documents/{document.pk}/annotation/", {
            "spans": spans, "relations": relations, "status": status, "version": version}, format="json")
        assert response.status_code in (200, 400, 409), response.content
        if stale and current["version"]:
            assert response.status_code != 200  # 409, or 400 when the spans are refused first

    @rule(data=st.data(), who=st.sampled_from(ANNOTATORS))
    def take_back_a_submission(self, data, who):
        """An annotator goes Back to a document they submitted and saves it unsubmitted, spans as they were."""
        mine = list(Annotation.objects.filter(document__project=self.project, annotator=self.users[who],
                                              status="submitted").select_related("document__project"))
        if not mine:
            return
        annotation = data.draw(st.sampled_from(mine))
        current = self.annotation_body(who, annotation.document)
        response = self.clients[who].put(f"/api/v1/documents/{annotation.document_id}/annotation/", {
            "spans": current["spans"], "relations": current["relations"], "status": "in_progress",
            "version": current["version"]}, format="json")
        assert response.status_code in (200, 409), response.content  # 409: reviewed, or its place was given up

    @rule(data=st.data())
    def save_gold(self, data):
        document = self.draw_document(data)
        client = self.clients["reviewer"]
        current = client.get(f"/api/v1/documents/{document.pk}/gold/").json()
        response = client.put(f"/api/v1/documents/{document.pk}/gold/", {
            "spans": self.draw_spans(data, document), "relations": [], "status": "submitted",
            "version": current["version"]}, format="json")
        assert response.status_code in (200, 400), response.content

    @rule(data=st.data(), who=st.sampled_from(ANNOTATORS))
    def adopt_an_annotation_as_gold(self, data, who):
        document = self.draw_document(data)
        response = self.clients["reviewer"].post(f"/api/v1/documents/{document.pk}/gold/",
                                                 {"from_user": self.users[who].username}, format="json")
        assert response.status_code in (200, 400, 409), response.content

    @rule(data=st.data())
    def reopen_a_document(self, data):
        document = self.draw_document(data)
        response = self.clients["reviewer"].post(f"/api/v1/documents/{document.pk}/reopen/")
        assert response.status_code in (200, 409), response.content

    @rule(data=st.data(), who=st.sampled_from(ANNOTATORS))
    def assign_documents(self, data, who):
        document = self.draw_document(data)
        response = self.clients["admin"].post(f"/api/v1/projects/{self.project.pk}/assignments/", {
            "documents": [document.pk], "annotator": self.users[who].username}, format="json")
        assert response.status_code in (200, 400, 409), response.content

    @rule(k=st.integers(1, 3), through_admin=st.booleans())
    def change_k(self, k, through_admin):
        if through_admin:
            project = Project.objects.get(pk=self.project.pk)
            form = {field: getattr(project, field) for field in (
                "name", "description", "language", "guidelines", "overlap_sample", "split_train", "split_dev",
                "split_test", "split_seed", "queue_order", "uncertainty_sampling", "retrain_every", "retrain_model")}
            form.update({"annotators_per_document": k, "memberships-TOTAL_FORMS": 0,
                         "memberships-INITIAL_FORMS": 0, "labels-TOTAL_FORMS": 0, "labels-INITIAL_FORMS": 0})
            response = self.admin_site.post(f"/admin/projects/project/{project.pk}/change/", form)
            assert response.status_code == 302, response.content.decode()[:2000]
        else:
            response = self.clients["admin"].patch(f"/api/v1/projects/{self.project.pk}/",
                                                   {"annotators_per_document": k}, format="json")
            assert response.status_code == 200, response.content
        self.max_k = max(self.max_k, k)

    @rule(fraction=st.sampled_from([1.0, 0.5, 0.25]))
    def change_the_overlap_sample(self, fraction):
        response = self.clients["admin"].patch(f"/api/v1/projects/{self.project.pk}/", {"overlap_sample": fraction},
                                               format="json")
        assert response.status_code == 200, response.content

    @rule(data=st.data(), as_gold=st.booleans())
    def import_a_file(self, data, as_gold):
        lines = []
        for text in data.draw(st.lists(st.sampled_from(IMPORT_TEXTS), min_size=1, max_size=3, unique=True)):
            line = {"text": text}
            shape = data.draw(st.sampled_from(["none", "empty", "spans"]))
            if shape == "empty":
                line["spans"] = []
            elif shape == "spans":
                word = text.split()[0]
                line["spans"] = [{"start": 0, "end": len(word), "label": data.draw(st.sampled_from(LABELS))}]
            lines.append(json.dumps(line, ensure_ascii=False) + "\n")
        upload = SimpleUploadedFile("f.jsonl", "".join(lines).encode())
        response = self.clients["admin"].post(f"/api/v1/projects/{self.project.pk}/imports/", {
            "file": upload, "format": "jsonl", "annotations_as": "gold" if as_gold else "submitted"},
            format="multipart")
        assert response.status_code == 202, response.content
        self.texts.update({d.pk: (d.text, bytes(d.tokens)) for d in Document.objects.filter(project=self.project)})

    @rule()
    def prelabel_with_rules(self):
        before = (Annotation.objects.count(), Span.objects.count())
        response = self.clients["admin"].post(f"/api/v1/projects/{self.project.pk}/prelabel/", {"model": "rules"},
                                              format="json")
        assert response.status_code == 202, response.content
        assert (Annotation.objects.count(), Span.objects.count()) == before  # suggestions are never annotations

    @rule(data=st.data())
    def try_to_edit_a_documents_text_in_the_admin(self, data):
        document = self.draw_document(data)
        response = self.admin_site.post(f"/admin/projects/document/{document.pk}/change/", {
            "text": document.text + " edited", "project": document.project_id, "meta": "{}",
            "status": "unlabelled", "assignments-TOTAL_FORMS": 0, "assignments-INITIAL_FORMS": 0,
            "gold_revisions-TOTAL_FORMS": 0, "gold_revisions-INITIAL_FORMS": 0,
            "reopenings-TOTAL_FORMS": 0, "reopenings-INITIAL_FORMS": 0})
        assert response.status_code == 302, response.content.decode()[:2000]

    # ------------------------------------------------------------------------------ invariants

    @invariant()
    def documents_never_change_their_text_or_tokens(self):
        for pk, text, tokens in Document.objects.filter(project=self.project).values_list("pk", "text", "tokens"):
            assert (text, bytes(tokens)) == self.texts[pk]

    @invariant()
    def status_and_counts_are_what_a_recount_gives(self):
        k = Project.objects.get(pk=self.project.pk).annotators_per_document
        counts = (Document.objects.filter(project=self.project).annotate(
            gold=Count("annotations", filter=Q(annotations__is_gold=True), distinct=True),
            submitted=Count("annotations", filter=Q(annotations__is_gold=False,
                                                    annotations__status="submitted"), distinct=True),
            started=Count("annotations", filter=Q(annotations__is_gold=False), distinct=True),
            holders=Count("assignments", distinct=True)))
        for document in counts:
            assert document.assignee_count == document.holders, document.pk
            assert document.holders <= self.max_k, document.pk  # the queue never hands a document past k
            expected = document_status(has_gold=bool(document.gold), submitted=document.submitted,
                                       started=document.started, k=wanted(k, document.overlap))
            assert document.status == expected, (document.pk, document.status, expected)

    @invariant()
    def the_overlap_sample_is_exact_and_in_storing_order(self):
        project = Project.objects.get(pk=self.project.pk)
        flags = list(Document.objects.filter(project=project).order_by("pk").values_list("overlap", flat=True))
        assert flags == sample_flags(0, len(flags), project.overlap_sample, phase_of(project.pk, project.split_seed))

    @invariant()
    def disagreement_is_what_a_recount_gives(self):
        sets: dict[int, dict[int, set]] = {}
        for document_id, annotation_id in Annotation.objects.filter(
                document__project=self.project, is_gold=False, status="submitted").values_list("document_id", "pk"):
            sets.setdefault(document_id, {})[annotation_id] = set()
        submitted = {"annotation__document__project": self.project, "annotation__is_gold": False,
                     "annotation__status": "submitted"}
        for annotation_id, document_id, start, end, label in Span.objects.filter(**submitted).values_list(
                "annotation_id", "annotation__document_id", "start", "end", "label_id"):
            sets[document_id][annotation_id].add((start, end, label))
        for relation in Relation.objects.filter(**submitted).select_related("head", "tail", "annotation"):
            head, tail = relation.head, relation.tail  # relations count too: (head span, tail span, label)
            sets[relation.annotation.document_id][relation.annotation_id].add(
                ((head.start, head.end, head.label_id), (tail.start, tail.end, tail.label_id), relation.label_id))
        for pk, value in Document.objects.filter(project=self.project).values_list("pk", "disagreement"):
            assert value == round(disagreement(list(sets.get(pk, {}).values())), 6), pk

    @invariant()
    def spans_lie_on_the_stored_tokens(self):
        documents = {d.pk: (d, tokens_for_document(d)) for d in self.documents()}
        for document_id, start, end in Span.objects.filter(annotation__document__project=self.project).values_list(
                "annotation__document_id", "start", "end"):
            _, tokens = documents[document_id]
            assert start in tokens.span_starts and end in tokens.span_ends
        for document_id, start, end in Suggestion.objects.filter(document__project=self.project).values_list(
                "document_id", "start", "end"):
            _, tokens = documents[document_id]
            assert start in tokens.span_starts and end in tokens.span_ends

    @invariant()
    def versions_only_grow(self):
        for pk, version, is_gold, document_id in Annotation.objects.filter(
                document__project=self.project).values_list("pk", "version", "is_gold", "document_id"):
            assert version >= self.versions.get(pk, 0)
            self.versions[pk] = version
            if is_gold:
                assert version >= self.gold_versions.get(document_id, 0)
                self.gold_versions[document_id] = version

    @invariant()
    def reviewed_annotations_change_only_once_reopened(self):
        reviewed = set(Annotation.objects.filter(document__project=self.project, is_gold=True)
                       .values_list("document_id", flat=True))
        reopened = set(Reopening.objects.filter(document__project=self.project, closed_at__isnull=True)
                       .values_list("document_id", flat=True))
        locked: dict[int, dict[int, int]] = {pk: {} for pk in reviewed - reopened}
        for document_id, pk, version in Annotation.objects.filter(
                document_id__in=list(locked), is_gold=False).values_list("document_id", "pk", "version"):
            locked[document_id][pk] = version
        for document_id, versions in locked.items():
            if document_id in self.locked:  # locked before this step and still: nothing moved
                assert versions == self.locked[document_id], document_id
        self.locked = locked

    @invariant()
    def every_gold_change_has_its_revision(self):
        for gold in Annotation.objects.filter(document__project=self.project, is_gold=True):
            revision = GoldRevision.objects.filter(document_id=gold.document_id, version=gold.version).first()
            assert revision is not None, gold.document_id
            stored = set(Span.objects.filter(annotation=gold).values_list("start", "end", "label__name"))
            assert {(s["start"], s["end"], s["label"]) for s in revision.spans} == stored
            assert len(revision.relations) == Relation.objects.filter(annotation=gold).count()


@pytest.fixture
def machine(django_user_model):
    Invariants.user_model = django_user_model
    return Invariants


def test_no_sequence_of_operations_breaks_a_stored_fact(machine, postgres, django_capture_on_commit_callbacks):
    from django.conf import settings as django_settings

    assert django_settings.CELERY_TASK_ALWAYS_EAGER
    chosen = settings(
        max_examples=EXAMPLES or 15, stateful_step_count=50, deadline=None,
        derandomize=not EXAMPLES, suppress_health_check=list(HealthCheck), print_blob=True,
    )
    with django_capture_on_commit_callbacks(execute=True):  # jobs queued on commit run in place
        run_state_machine_as_test(machine, settings=chosen)
