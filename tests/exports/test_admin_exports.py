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


def test_admin_import_of_conll_takes_where_documents_start(staff_client, project, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from projects.models import Document, Job

    page = staff_client.get(f"/admin/projects/project/{project.pk}/import/").content.decode()
    assert 'name="documents"' in page and 'value="sentence"' in page
    upload = SimpleUploadedFile("a.conll", b"-DOCSTART- -X- O O\n\nOmar B-PERSON\nleft O\n\nHe O\nslept O\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/admin/projects/project/{project.pk}/import/", {
            "file": upload, "format": "conll", "skip_duplicates": "on", "annotations_as": "submitted",
            "documents": "sentence"})
    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.status, job.params["documents"]) == ("succeeded", "sentence")
    assert set(Document.objects.filter(project=project).values_list("text", flat=True)) >= {"Omar left", "He slept"}


def test_admin_import_refuses_documents_for_a_format_without_them_and_leaves_them_out_when_blank(staff_client, project):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from projects.models import Job

    response = staff_client.post(f"/admin/projects/project/{project.pk}/import/", {
        "file": SimpleUploadedFile("a.jsonl", b'{"text": "a"}\n'), "format": "jsonl", "annotations_as": "submitted",
        "documents": "sentence"})
    assert response.status_code == 200
    assert "only for format conll: a jsonl file has no documents option" in response.content.decode()
    assert not Job.objects.exists()
    response = staff_client.post(f"/admin/projects/project/{project.pk}/import/", {
        "file": SimpleUploadedFile("a.jsonl", b'{"text": "a"}\n'), "format": "jsonl", "annotations_as": "submitted",
        "documents": ""})
    assert response.status_code == 302
    assert "documents" not in Job.objects.get().params
