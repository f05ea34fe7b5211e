from django.urls import path

from curation import views

urlpatterns = [
    path("projects/<int:project_id>/assignments/", views.AssignmentListView.as_view(), name="assignment-list"),
    path("projects/<int:project_id>/review/", views.ReviewQueueView.as_view(), name="review-queue"),
    path("projects/<int:project_id>/agreement/", views.AgreementView.as_view(), name="agreement"),
    path("projects/<int:project_id>/progress/", views.ProgressView.as_view(), name="progress"),
    path("documents/<int:document_id>/gold/", views.GoldView.as_view(), name="gold"),
    path("documents/<int:document_id>/review/", views.ReviewDocumentView.as_view(), name="review-document"),
    path("documents/<int:document_id>/reopen/", views.ReopenView.as_view(), name="reopen-document"),
]
