"""Gold (GET|PUT|POST /documents/{id}/gold/), its history, the review queue and a document's review bundle."""

from __future__ import annotations

import pytest

from curation.alignment import align
from projects.models import Document, GoldRevision

pytestmark = pytest.mark.django_db

# doc(1): "Rebels led by HTS seized Aleppo." -> HTS 14-17, Aleppo 25-31
HTS_ORG, HTS_GPE, ALEPPO = (14, 17, "ORG"), (14, 17, "GPE"), (25, 31, "GPE")


def gold_url(document):
    return f"/api/v1/documents/{document.pk}/gold/"


def body(spans, version, relations=(), status="submitted"):
    return {"spans": [{"id": i + 1, "start": s, "end": e, "label": label} for i, (s, e, label) in enumerate(spans)],
            "relations": [{"head": h + 1, "tail": t + 1, "label": label} for h, t, label in relations],
            "version": version, "status": status}


def test_gold_is_empty_at_version_0_until_a_reviewer_saves_it(project, people, client_for, doc):
    reviewer = client_for(people["reviewer"])
    assert reviewer.get(gold_url(doc(1))).json() == {"spans": [], "relations": [], "status": "in_progress",
                                                    "version": 0}
    response = reviewer.put(gold_url(doc(1)), body([ALEPPO], 0), format="json")
    assert response.status_code == 200, response.content
    stored = response.json()
    assert stored["version"] == 1 and stored["annotator"] == "reviewer"
    assert [(s["start"], s["end"], s["label"]) for s in stored["spans"]] == [ALEPPO]
    assert reviewer.get(gold_url(doc(1))).json()["spans"] == stored["spans"]
    assert Document.objects.get(pk=doc(1).pk).status == "reviewed"


def test_a_stale_gold_version_gets_409_with_the_stored_gold_and_overwrites_nothing(project, people, client_for, doc):
    reviewer, admin = client_for(people["reviewer"]), client_for(people["admin"])
    assert reviewer.put(gold_url(doc(1)), body([ALEPPO], 0), format="json").status_code == 200
    response = admin.put(gold_url(doc(1)), body([HTS_ORG], 0), format="json")
    assert response.status_code == 409
    assert response.json()["version"] == 1 and response.json()["code"] == "version_conflict"
    assert [s["label"] for s in reviewer.get(gold_url(doc(1))).json()["spans"]] == ["GPE"]


def test_gold_is_validated_like_an_annotation(project, people, client_for, doc):
    response = client_for(people["reviewer"]).put(gold_url(doc(1)), body([(14, 16, "ORG")], 0), format="json")
    assert response.status_code == 400  # not on token boundaries
    assert not GoldRevision.objects.exists()


def test_reviewer_adopts_an_annotators_version_as_gold(project, people, client_for, doc, annotate):
    project.annotators_per_document = 2
    project.save()
    annotate(doc(1), people["annotator"], [HTS_ORG, ALEPPO], relations=[(0, 1, "located_in")])
    annotate(doc(1), people["annotator2"], [ALEPPO])  # before the gold: then annotations are locked
    reviewer = client_for(people["reviewer"])
    response = reviewer.post(gold_url(doc(1)), {"from_user": "annotator"}, format="json")
    assert response.status_code == 200, response.content
    gold = response.json()
    assert [(s["start"], s["end"], s["label"]) for s in gold["spans"]] == [HTS_ORG, ALEPPO]
    assert gold["relations"] == [{"head": 1, "tail": 2, "label": "located_in"}]
    assert gold["version"] == 1 and gold["status"] == "submitted"
    # With a version, adopting is refused when the gold moved on.
    stale = reviewer.post(gold_url(doc(1)), {"from_user": "annotator2", "version": 0}, format="json")
    assert stale.status_code == 409 and stale.json()["version"] == 1


@pytest.mark.parametrize("who, status, code", [
    ("annotator2", 400, "no_annotation"), ("ghost", 400, "unknown_user"), ("annotator", 409, "not_submitted")])
def test_adopting_needs_a_submitted_annotation(project, people, client_for, doc, annotate, who, status, code):
    annotate(doc(1), people["annotator"], [ALEPPO], status="in_progress")
    response = client_for(people["reviewer"]).post(gold_url(doc(1)), {"from_user": who}, format="json")
    assert response.status_code == status and response.json()["code"] == code


def test_gold_history_records_who_changed_what_and_when(project, people, client_for, doc, annotate):
    annotate(doc(1), people["annotator"], [HTS_ORG, ALEPPO])
    reviewer, admin = client_for(people["reviewer"]), client_for(people["admin"])
    reviewer.post(gold_url(doc(1)), {"from_user": "annotator"}, format="json")
    assert admin.put(gold_url(doc(1)), body([HTS_GPE, ALEPPO], 1), format="json").status_code == 200
    first, second = GoldRevision.objects.filter(document=doc(1)).order_by("version")
    assert (first.version, first.editor.username, first.action, first.from_user.username) == (
        1, "reviewer", "adopt", "annotator")
    assert first.added == [list(HTS_ORG), list(ALEPPO)] and first.removed == []
    assert (second.version, second.editor.username, second.action, second.from_user) == (2, "admin", "edit", None)
    assert second.added == [list(HTS_GPE)] and second.removed == [list(HTS_ORG)]
    assert [s["label"] for s in second.spans] == ["GPE", "GPE"] and second.created_at >= first.created_at


def test_gold_history_is_in_django_admin(project, people, client, doc, make_user, client_for):
    client_for(people["reviewer"]).put(gold_url(doc(1)), body([ALEPPO], 0), format="json")
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    listing = client.get("/admin/projects/goldrevision/")
    assert listing.status_code == 200 and b"+1 / -0" in listing.content
    page = client.get(f"/admin/projects/document/{doc(1).pk}/change/")
    assert page.status_code == 200 and b"Gold revisions" in page.content


def test_submitted_documents_get_their_disagreement(project, people, doc, annotate):
    project.annotators_per_document = 2
    project.save()
    annotate(doc(1), people["annotator"], [HTS_ORG, ALEPPO])
    annotate(doc(1), people["annotator2"], [HTS_GPE, ALEPPO])
    annotate(doc(2), people["annotator"], [])
    annotate(doc(2), people["annotator2"], [])
    assert Document.objects.get(pk=doc(1).pk).disagreement == pytest.approx(0.5)  # F1 = 2*1/(2+2)
    assert Document.objects.get(pk=doc(2).pk).disagreement == 0.0


def test_each_save_leaves_status_and_disagreement_as_a_full_recount_gives(project, people, doc, annotate,
                                                                          annotator3, client_for):
    """The save computes them from the annotations it read under the document's lock; a recount must agree,
    before the gold, while it locks the annotations, and while the document is reopened."""
    from projects.actions.annotations import refresh_document_status
    from projects.actions.reopenings import do_reopen_document
    from projects.errors import Conflict
    from projects.models import Annotation, Assignment
    from projects.spans import disagreement

    def recounted_disagreement(document):
        sets = {}
        for annotation in Annotation.objects.filter(document=document, is_gold=False, status="submitted"):
            sets[annotation.pk] = set(annotation.spans.values_list("start", "end", "label_id"))
        return round(disagreement(list(sets.values())), 6)

    project.annotators_per_document = 2
    project.save()
    document = doc(1)
    steps = [
        (people["annotator"], [HTS_ORG], "in_progress", "in_progress"),
        (people["annotator"], [HTS_ORG, ALEPPO], "submitted", "in_progress"),
        (people["annotator2"], [HTS_GPE, ALEPPO], "submitted", "submitted"),
        (people["annotator2"], [HTS_ORG, ALEPPO], "submitted", "submitted"),  # changes their mind: agreement
        (people["annotator"], [], "in_progress", "in_progress"),  # takes it back: one of two submitted
        (people["annotator"], [ALEPPO], "submitted", "submitted"),
    ]
    def check(user, spans, status, expected):
        document.refresh_from_db()
        assert document.status == expected, (user.username, spans, status)
        assert document.disagreement == recounted_disagreement(document)  # after every save, submitting or not
        assert document.assignee_count == Assignment.objects.filter(document=document).count()
        refresh_document_status([document.pk])
        assert Document.objects.get(pk=document.pk).status == expected

    for user, spans, status, expected in steps:
        annotate(document, user, spans, status=status)
        check(user, spans, status, expected)
    with pytest.raises(Conflict) as full:  # a third person, while both places are taken (an API script)
        annotate(document, annotator3, [ALEPPO], status="submitted")
    assert full.value.code == "document_full"
    check(annotator3, [], "in_progress", "submitted")
    reviewer = client_for(people["reviewer"])
    assert reviewer.put(gold_url(document), body([ALEPPO], 0), format="json").status_code == 200
    assert Document.objects.get(pk=document.pk).status == Document.Status.REVIEWED
    with pytest.raises(Conflict) as refused:  # gold is the last word: annotations are locked
        annotate(document, people["annotator"], [ALEPPO], status="submitted")
    assert refused.value.code == "document_reviewed"
    check(people["annotator"], [], "in_progress", Document.Status.REVIEWED)

    # Reopened, annotators change their minds; the gold stays, so the document stays reviewed.
    do_reopen_document(document, acting_user=people["reviewer"])
    reopened_steps = [
        (people["annotator"], [HTS_ORG, ALEPPO], "submitted"),
        (people["annotator2"], [HTS_GPE], "submitted"),
        (people["annotator"], [ALEPPO], "in_progress"),
    ]
    for user, spans, status in reopened_steps:
        annotate(document, user, spans, status=status)
        check(user, spans, status, Document.Status.REVIEWED)
    assert reviewer.put(gold_url(document), body([HTS_ORG, ALEPPO], 1), format="json").status_code == 200
    check(people["reviewer"], [], "in_progress", Document.Status.REVIEWED)
    with pytest.raises(Conflict):  # locked again
        annotate(document, annotator3, [], status="in_progress")


def test_review_queue_lists_documents_k_people_submitted_most_disagreement_first(
        project, people, client_for, doc, annotate):
    project.annotators_per_document = 2
    project.save()
    for n in (1, 2):
        annotate(doc(n), people["annotator"], [ALEPPO] if n == 1 else [])
    annotate(doc(1), people["annotator2"], [ALEPPO])  # agree
    annotate(doc(2), people["annotator2"], [(0, 5, "PERSON")])  # disagree
    annotate(doc(3), people["annotator"], [])  # one of two: not ready
    reviewer = client_for(people["reviewer"])
    queue = reviewer.get(f"/api/v1/projects/{project.pk}/review/").json()
    assert queue["count"] == 2
    assert [(item["id"], item["disagreement"], item["annotators"]) for item in queue["results"]] == [
        (doc(2).pk, 1.0, ["annotator", "annotator2"]), (doc(1).pk, 0.0, ["annotator", "annotator2"])]
    skipped = reviewer.get(f"/api/v1/projects/{project.pk}/review/?skip={doc(2).pk}").json()
    assert [item["id"] for item in skipped["results"]] == [doc(1).pk]
    reviewer.put(gold_url(doc(2)), body([], 0), format="json")
    assert [i["id"] for i in reviewer.get(f"/api/v1/projects/{project.pk}/review/").json()["results"]] == [doc(1).pk]
    reviewed = reviewer.get(f"/api/v1/projects/{project.pk}/review/?status=reviewed").json()
    assert [item["id"] for item in reviewed["results"]] == [doc(2).pk]
    assert reviewer.get(f"/api/v1/projects/{project.pk}/review/?status=bogus").status_code == 400


def test_review_bundle_aligns_the_submitted_annotations(project, people, client_for, doc, annotate, annotator3):
    project.annotators_per_document = 3
    project.save()
    annotate(doc(1), people["annotator"], [HTS_ORG, ALEPPO], relations=[(0, 1, "located_in")])
    annotate(doc(1), people["annotator2"], [HTS_GPE, ALEPPO])
    annotate(doc(1), annotator3, [ALEPPO], status="in_progress")  # shown, not aligned
    bundle = client_for(people["reviewer"]).get(f"/api/v1/documents/{doc(1).pk}/review/").json()
    assert bundle["document"]["text"] == doc(1).text and bundle["gold"]["version"] == 0
    assert [t["text"] for t in bundle["tokens"]][:3] == ["Rebels", "led", "by"]
    assert [a["annotator"] for a in bundle["annotations"]] == ["annotator", "annotator2", "annotator3"]
    alignment = bundle["alignment"]
    assert alignment["annotators"] == ["annotator", "annotator2"]
    assert alignment["agreed"] == [{"start": 25, "end": 31, "label": "GPE"}]
    assert alignment["conflicts"] == [{"start": 14, "end": 17, "label": "GPE", "annotators": ["annotator2"]},
                                      {"start": 14, "end": 17, "label": "ORG", "annotators": ["annotator"]}]
    # HTS ORG vs GPE, and annotator's relation from HTS to Aleppo: one region from HTS to Aleppo.
    located_in = {"head": {"start": 14, "end": 17, "label": "ORG"}, "tail": {"start": 25, "end": 31, "label": "GPE"},
                  "label": "located_in"}
    assert alignment["regions"] == [{"start": 14, "end": 31, "readings": {
        "annotator": [{"start": 14, "end": 17, "label": "ORG"}, {"start": 25, "end": 31, "label": "GPE"}],
        "annotator2": [{"start": 14, "end": 17, "label": "GPE"}, {"start": 25, "end": 31, "label": "GPE"}]},
        "relation_readings": {"annotator": [located_in], "annotator2": []}}]
    assert alignment["relations"]["conflicts"] == [{
        "head": {"start": 14, "end": 17, "label": "ORG"}, "tail": {"start": 25, "end": 31, "label": "GPE"},
        "label": "located_in", "annotators": ["annotator"]}]


def test_alignment_groups_overlapping_conflicts_and_says_who_said_nothing():
    result = align({
        "ann": {"spans": [(0, 10, "ORG")]},
        "bob": {"spans": [(0, 4, "PER"), (5, 10, "GPE")]},
        "cat": {"spans": [(20, 24, "GPE")]},
    })
    assert result["agreed"] == []
    assert [(r["start"], r["end"]) for r in result["regions"]] == [(0, 10), (20, 24)]
    first = result["regions"][0]["readings"]
    assert first["cat"] == [] and [s["label"] for s in first["bob"]] == ["PER", "GPE"]
    assert result["regions"][1]["readings"]["ann"] == []


def test_a_relation_only_disagreement_is_a_region_of_its_own():
    assad, homs = (6, 11, "PER"), (17, 22, "GPE")
    result = align({"ann": {"spans": [assad, homs], "relations": [(assad, homs, "located_in")]},
                    "bob": {"spans": [assad, homs], "relations": [(homs, assad, "located_in")]}})
    assert result["conflicts"] == [] and len(result["agreed"]) == 2
    (region,) = result["regions"]
    assert (region["start"], region["end"]) == (6, 22)
    assert [[(r["head"]["start"], r["tail"]["start"]) for r in region["relation_readings"][name]]
            for name in ("ann", "bob")] == [[(6, 17)], [(17, 6)]]


def test_annotators_who_disagree_only_on_a_relation_disagree(project, people, doc, annotate):
    project.annotators_per_document = 2
    project.save()
    annotate(doc(1), people["annotator"], [HTS_ORG, ALEPPO], relations=[(0, 1, "located_in")])
    annotate(doc(1), people["annotator2"], [HTS_ORG, ALEPPO])
    # Two spans each, both the same; one relation on one side: F1 = 2 * 2 / (3 + 2).
    assert Document.objects.get(pk=doc(1).pk).disagreement == round(1 - 4 / 5, 6)
    annotate(doc(1), people["annotator2"], [HTS_ORG, ALEPPO], relations=[(1, 0, "located_in")])  # the other way
    assert Document.objects.get(pk=doc(1).pk).disagreement == round(1 - 4 / 6, 6)
