from django.urls import path

from exports import views

urlpatterns = [
    path("projects/<int:project_id>/imports/", views.ImportView.as_view(), name="import"),
    path("projects/<int:project_id>/export/", views.ExportView.as_view(), name="export"),
    path("projects/<int:project_id>/snapshots/", views.SnapshotListView.as_view(), name="snapshot-list"),
    path("snapshots/<int:snapshot_id>/export/", views.SnapshotExportView.as_view(), name="snapshot-export"),
    path("jobs/<int:job_id>/download/", views.JobDownloadView.as_view(), name="job-download"),
]
