"""Members: list, add, change role, remove; a project always keeps an admin."""

from __future__ import annotations

import pytest

from projects.actions.members import do_add_member
from projects.models import Membership

pytestmark = pytest.mark.django_db


def url(project, username=None):
    base = f"/api/v1/projects/{project.pk}/members/"
    return f"{base}{username}/" if username else base


def roles(project) -> dict:
    return dict(Membership.objects.filter(project=project).values_list("user__username", "role"))


FIXTURE_ROLES = {"admin": "admin", "reviewer": "reviewer", "annotator": "annotator", "annotator2": "annotator"}


def test_member_lists_members_by_username(project, people, client_for):
    response = client_for(people["annotator"]).get(url(project))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert body["results"] == [{"username": u, "role": r} for u, r in sorted(FIXTURE_ROLES.items())]


def test_member_reads_one_member(project, people, client_for):
    response = client_for(people["annotator"]).get(url(project, "reviewer"))
    assert response.status_code == 200
    assert response.json() == {"username": "reviewer", "role": "reviewer"}


def test_reading_someone_who_is_not_a_member_is_404(project, people, client_for):
    response = client_for(people["admin"]).get(url(project, "outsider"))
    assert response.status_code == 404
    assert response.json()["detail"] == "No such member."


@pytest.mark.parametrize("role", ["admin", "reviewer", "annotator"])
def test_admin_adds_a_member_with_any_role(project, people, client_for, role):
    response = client_for(people["admin"]).post(url(project), {"username": "outsider", "role": role}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json() == {"username": "outsider", "role": role}
    assert roles(project) == FIXTURE_ROLES | {"outsider": role}
    assert client_for(people["outsider"]).get(f"/api/v1/projects/{project.pk}/").status_code == 200


def test_adding_an_unknown_user_is_400_and_adds_nothing(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), {"username": "ghost", "role": "annotator"},
                                                format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "username: no user is called 'ghost'"
    assert response.json()["code"] == "unknown_user"
    assert roles(project) == FIXTURE_ROLES


@pytest.mark.parametrize("role", ["owner", "Admin", "", None])
def test_adding_with_a_bad_role_is_400_naming_the_role(project, people, client_for, role):
    response = client_for(people["admin"]).post(url(project), {"username": "outsider", "role": role}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()
    assert roles(project) == FIXTURE_ROLES


@pytest.mark.parametrize("body, field", [({"role": "annotator"}, "username"), ({"username": "outsider"}, "role")])
def test_adding_without_a_field_is_400_naming_it(project, people, client_for, body, field):
    response = client_for(people["admin"]).post(url(project), body, format="json")
    assert response.status_code == 400
    assert response.json()[field] == ["This field is required."]
    assert roles(project) == FIXTURE_ROLES


def test_adding_someone_already_a_member_is_400_and_keeps_their_role(project, people, client_for):
    response = client_for(people["admin"]).post(url(project), {"username": "annotator", "role": "admin"},
                                                format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == ("username: 'annotator' is already a member; "
                                         "PATCH the member to change the role")
    assert roles(project) == FIXTURE_ROLES


def test_admin_changes_a_role(project, people, client_for):
    response = client_for(people["admin"]).patch(url(project, "annotator"), {"role": "reviewer"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"username": "annotator", "role": "reviewer"}
    assert roles(project)["annotator"] == "reviewer"
    promoted = client_for(people["annotator"]).get(f"/api/v1/projects/{project.pk}/")
    assert promoted.json()["role"] == "reviewer"


@pytest.mark.parametrize("body", [{"role": "owner"}, {}, {"role": None}])
def test_changing_to_a_bad_role_is_400_and_changes_nothing(project, people, client_for, body):
    response = client_for(people["admin"]).patch(url(project, "annotator"), body, format="json")
    assert response.status_code == 400
    assert "role" in response.json()
    assert roles(project) == FIXTURE_ROLES


def test_changing_the_role_of_a_non_member_is_404(project, people, client_for):
    response = client_for(people["admin"]).patch(url(project, "outsider"), {"role": "admin"}, format="json")
    assert response.status_code == 404
    assert response.json()["detail"] == "No such member."
    assert roles(project) == FIXTURE_ROLES


def test_admin_removes_a_member(project, people, client_for):
    response = client_for(people["admin"]).delete(url(project, "annotator2"))
    assert response.status_code == 204
    assert roles(project) == {k: v for k, v in FIXTURE_ROLES.items() if k != "annotator2"}


def test_removing_a_non_member_is_404(project, people, client_for):
    response = client_for(people["admin"]).delete(url(project, "outsider"))
    assert response.status_code == 404
    assert roles(project) == FIXTURE_ROLES


def test_last_admin_cannot_be_removed(project, people, client_for):
    response = client_for(people["admin"]).delete(url(project, "admin"))
    assert response.status_code == 400
    assert response.json()["detail"] == "a project needs at least one admin; make someone else admin first"
    assert response.json()["code"] == "last_admin"
    assert roles(project) == FIXTURE_ROLES


@pytest.mark.parametrize("role", ["reviewer", "annotator"])
def test_last_admin_cannot_be_demoted(project, people, client_for, role):
    response = client_for(people["admin"]).patch(url(project, "admin"), {"role": role}, format="json")
    assert response.status_code == 400
    assert "at least one admin" in response.json()["detail"]
    assert roles(project) == FIXTURE_ROLES


def test_staff_cannot_remove_the_last_admin_either(project, staff, client_for):
    response = client_for(staff).delete(url(project, "admin"))
    assert response.status_code == 400
    assert roles(project) == FIXTURE_ROLES


def test_an_admin_can_step_down_once_there_is_another(project, people, client_for):
    do_add_member(project, "outsider", "admin", acting_user=people["admin"])
    client = client_for(people["admin"])
    assert client.patch(url(project, "admin"), {"role": "reviewer"}, format="json").status_code == 200
    assert roles(project)["admin"] == "reviewer"
    # Now the outsider is the only admin, and stays.
    response = client_for(people["outsider"]).delete(url(project, "outsider"))
    assert response.status_code == 400
    assert roles(project)["outsider"] == "admin"


def test_admin_can_be_removed_once_there_is_another(project, people, client_for):
    do_add_member(project, "outsider", "admin", acting_user=people["admin"])
    response = client_for(people["outsider"]).delete(url(project, "admin"))
    assert response.status_code == 204
    assert "admin" not in roles(project)


def test_keeping_an_admin_an_admin_is_allowed(project, people, client_for):
    response = client_for(people["admin"]).patch(url(project, "admin"), {"role": "admin"}, format="json")
    assert response.status_code == 200
    assert roles(project) == FIXTURE_ROLES
