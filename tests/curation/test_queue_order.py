"""The queue's order, a project setting: sequential (as stored), random (seeded, stable) or uncertainty
(the latest scoring pass's most uncertain first, or drawn in proportion to uncertainty; unscored documents
after them)."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from projects.actions.documents import do_create_documents
from projects.actions.projects import do_update_project
from projects.actions.assignments import sampling_priority
from projects.actions.suggestions import do_store_document_scores
from projects.models import Assignment, Document, DocumentScore

pytestmark = pytest.mark.django_db

DOCUMENTS = 60


@pytest.fixture
def many(project, people):
    """The fixture project with 60 more documents, in stored order."""
    do_create_documents(project, [{"text": f"Document {i} of many."} for i in range(DOCUMENTS)],
                        acting_user=people["admin"])
    return list(Document.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))


def queue(client, project) -> list[int]:
    """The order the queue hands out every document, asking /next/ with the ones seen skipped (nothing claimed
    twice: skipping keeps the earlier ones held but not handed again)."""
    seen: list[int] = []
    while True:
        url = f"/api/v1/projects/{project.pk}/next/" + (f"?skip={','.join(map(str, seen))}" if seen else "")
        response = client.get(url)
        if response.status_code == 204:
            return seen
        assert response.status_code == 200, response.content
        seen.append(response.json()["document"]["id"])


def set_order(project, people, order, **more):
    do_update_project(project, acting_user=people["admin"], queue_order=order, **more)


def test_the_setting_is_in_the_api_and_checked(project, people, client_for):
    admin = client_for(people["admin"])
    assert admin.get(f"/api/v1/projects/{project.pk}/").json()["queue_order"] == "sequential"
    response = admin.patch(f"/api/v1/projects/{project.pk}/", {"queue_order": "random"}, format="json")
    assert (response.status_code, response.json()["queue_order"]) == (200, "random")
    response = admin.patch(f"/api/v1/projects/{project.pk}/", {"queue_order": "smallest"}, format="json")
    assert response.status_code == 400 and "queue_order" in response.content.decode()
    assert admin.get(f"/api/v1/projects/{project.pk}/").json()["queue_order"] == "random"


def test_sequential_hands_documents_out_in_stored_order(project, people, client_for, many):
    assert queue(client_for(people["annotator"]), project) == many


def test_random_is_a_stable_shuffle_spread_over_the_documents_and_follows_the_seed(project, people, client_for,
                                                                                     many):
    set_order(project, people, "random", annotators_per_document=2)
    first = queue(client_for(people["annotator"]), project)
    assert sorted(first) == many and first != many
    # Stable: another annotator (k is 2) meets the same order.
    assert queue(client_for(people["annotator2"]), project) == first
    # Spread: the first fifth of the queue comes from all over the stored order, not one end of it (so for
    # every one of 60,000 blocks of 60 consecutive ids and project ids tried).
    places = sorted(many.index(pk) for pk in first[:len(many) // 5])
    assert places[0] < len(many) // 3 and places[-1] > 2 * len(many) // 3
    # Another seed, another order.
    set_order(project, people, "random", split_seed="another")
    Assignment.objects.filter(project=project).delete()  # (a fresh queue, as on a new project)
    Document.objects.filter(project=project).update(assignee_count=0)
    second = queue(client_for(people["annotator"]), project)
    assert sorted(second) == many and second != first


def test_uncertainty_serves_the_most_uncertain_first_then_unscored_in_stored_order(project, people, client_for,
                                                                                     many):
    set_order(project, people, "uncertainty", uncertainty_sampling="highest")
    scored = {many[5]: 0.2, many[40]: 0.9, many[17]: 0.55, many[2]: 0.0}
    assert do_store_document_scores(project, scored, model="drugs", version="1") == 4
    expected = [many[40], many[17], many[5], many[2]] + [pk for pk in many if pk not in scored]
    assert queue(client_for(people["annotator"]), project) == expected


def test_a_new_pass_is_what_the_queue_follows_and_every_pass_is_kept(project, people, client_for, many):
    set_order(project, people, "uncertainty", uncertainty_sampling="highest")
    do_store_document_scores(project, {many[0]: 0.9, many[1]: 0.1}, model="drugs", version="1")
    do_store_document_scores(project, {many[0]: 0.2, many[1]: 0.8}, model="drugs", version="2")
    assert queue(client_for(people["annotator"]), project)[:2] == [many[1], many[0]]
    assert sorted(DocumentScore.objects.filter(document_id=many[0]).values_list("model_version", "uncertainty")) == [
        ("1", 0.9), ("2", 0.2)]
    # Storing a pass again replaces it: a redelivered chunk changes nothing.
    do_store_document_scores(project, {many[0]: 0.2, many[1]: 0.8}, model="drugs", version="2")
    assert DocumentScore.objects.filter(project=project).count() == 4


def test_the_sampling_setting_is_in_the_api_and_checked(project, people, client_for):
    admin = client_for(people["admin"])
    assert admin.get(f"/api/v1/projects/{project.pk}/").json()["uncertainty_sampling"] == "proportional"
    response = admin.patch(f"/api/v1/projects/{project.pk}/", {"uncertainty_sampling": "highest"}, format="json")
    assert (response.status_code, response.json()["uncertainty_sampling"]) == (200, "highest")
    response = admin.patch(f"/api/v1/projects/{project.pk}/", {"uncertainty_sampling": "lowest"}, format="json")
    assert response.status_code == 400 and "uncertainty_sampling" in response.content.decode()


def test_priorities_draw_each_document_in_proportion_to_its_uncertainty():
    """Of two documents, the one with uncertainty a comes first with chance a / (a + b): the Gumbel-top-k
    draw, checked over many seeded keys against the exact probability."""
    for a, b in ((0.9, 0.1), (0.5, 0.25), (0.3, 0.3), (0.02, 0.6)):
        n = 20_000
        first = sum(sampling_priority(a, key=f"a:{i}") > sampling_priority(b, key=f"b:{i}") for i in range(n))
        assert abs(first / n - a / (a + b)) < 0.015, (a, b, first / n)
    # The same key, the same number (a pass stored again changes nothing); a certain document still has a place.
    assert sampling_priority(0.4, key="k") == sampling_priority(0.4, key="k") != sampling_priority(0.4, key="j")
    assert math.isfinite(sampling_priority(0.0, key="k"))


def test_proportional_order_follows_the_stored_priorities_mostly_uncertain_first(project, people, client_for,
                                                                                 many):
    set_order(project, people, "uncertainty")  # proportional: the default
    rng = random.Random(7)
    scored = {pk: round(rng.random(), 3) for pk in many[:50]}
    do_store_document_scores(project, scored, model="drugs", version="1")
    order = queue(client_for(people["annotator"]), project)
    priorities = dict(Document.objects.filter(pk__in=scored).values_list("pk", "queue_priority"))
    assert order == sorted(scored, key=lambda pk: (-priorities[pk], pk)) + many[50:]  # unscored after
    # Drawn, not sorted, but the uncertain come first: the first half's mean uncertainty is above the second's
    # (by 0.25 on average over draws of these scores; below 0 in none of 5,000).
    assert order[:10] != sorted(scored, key=lambda pk: (-scored[pk], pk))[:10]
    assert statistics.mean(scored[pk] for pk in order[:25]) > statistics.mean(scored[pk] for pk in order[25:50])
    # Another pass of another version draws again.
    do_store_document_scores(project, scored, model="drugs", version="2")
    Assignment.objects.filter(project=project).delete()
    Document.objects.filter(project=project).update(assignee_count=0)
    assert queue(client_for(people["annotator"]), project)[:50] != order[:50]


def test_a_score_outside_0_and_1_is_refused_and_nothing_is_stored(project, many):
    with pytest.raises(ValueError, match="not in \\[0, 1\\]"):
        do_store_document_scores(project, {many[0]: 0.5, many[1]: 1.5}, model="drugs", version="1")
    assert not DocumentScore.objects.exists()
    assert Document.objects.get(pk=many[0]).uncertainty is None


def test_explicit_assignments_and_the_fullest_document_still_come_first(project, people, client_for, many):
    set_order(project, people, "uncertainty", uncertainty_sampling="highest", annotators_per_document=2)
    do_store_document_scores(project, {many[30]: 0.99, many[10]: 0.5}, model="drugs", version="1")
    admin, ann, ann2 = (client_for(people[name]) for name in ("admin", "annotator", "annotator2"))
    response = admin.post(f"/api/v1/projects/{project.pk}/assignments/",
                          {"documents": [many[20]], "annotator": "annotator2"}, format="json")
    assert response.status_code in (200, 201), response.content
    submit = {"spans": [], "version": 0, "status": "submitted"}

    def take(client, expected):
        assert client.get(f"/api/v1/projects/{project.pk}/next/").json()["document"]["id"] == expected
        assert client.put(f"/api/v1/documents/{expected}/annotation/", submit, format="json").status_code == 200

    take(ann, many[20])  # annotator2 holds it: fullest first, before the most uncertain
    take(ann, many[30])
    take(ann2, many[20])  # their assignment
    take(ann2, many[30])  # annotator holds it
    take(ann2, many[10])
    take(ann, many[10])
    take(ann, many[0])  # then unscored, in stored order
