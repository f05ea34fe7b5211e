import hashlib

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


def test_admin_export_action_leads_to_a_download_with_its_sha256(staff_client, project):
    response = staff_client.post("/admin/projects/project/", {"action": "export_project",
                                                               "_selected_action": [project.pk]})
    assert response.status_code == 302 and response["Location"] == f"/admin/projects/project/{project.pk}/export/"
    assert staff_client.get(response["Location"]).status_code == 200
    download = staff_client.post(response["Location"], {"format": "jsonl", "source": "submitted", "split": "",
                                                        "scheme": "iob2"})
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    assert download["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()


def test_snapshots_are_listed_read_only_in_admin(staff_client, project, people, client_for):
    snapshot = client_for(people["admin"]).post(f"/api/v1/projects/{project.pk}/snapshots/", {"note": "v1"},
                                                format="json").json()
    assert staff_client.get("/admin/exports/snapshot/").status_code == 200
    page = staff_client.get(f"/admin/exports/snapshot/{snapshot['id']}/change/")
    assert page.status_code == 200
    assert snapshot["sha256"]["jsonl"] in page.content.decode()
    assert staff_client.get("/admin/exports/snapshot/add/").status_code == 403
