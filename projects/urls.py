from django.urls import path

from projects import views

urlpatterns = [
    path("auth/token/", views.AuthTokenView.as_view(), name="auth-token"),
    path("projects/", views.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:project_id>/", views.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<int:project_id>/members/", views.MemberListView.as_view(), name="member-list"),
    path("projects/<int:project_id>/members/<str:username>/", views.MemberDetailView.as_view(), name="member-detail"),
    path("projects/<int:project_id>/labels/", views.LabelListView.as_view(), name="label-list"),
    path("projects/<int:project_id>/labels/<int:label_id>/", views.LabelDetailView.as_view(), name="label-detail"),
    path("projects/<int:project_id>/documents/", views.DocumentListView.as_view(), name="document-list"),
    path("projects/<int:project_id>/documents/<int:document_id>/", views.DocumentDetailView.as_view(),
         name="document-detail"),
    path("projects/<int:project_id>/documents/<int:document_id>/tokens/", views.DocumentTokensView.as_view(),
         name="document-tokens"),
    path("projects/<int:project_id>/documents/<int:document_id>/bundle/", views.DocumentBundleView.as_view(),
         name="document-bundle"),
    path("projects/<int:project_id>/documents/<int:document_id>/suggestions/",
         views.DocumentSuggestionsView.as_view(), name="document-suggestions"),
    path("suggestions/<int:suggestion_id>/rejection/", views.SuggestionRejectionView.as_view(),
         name="suggestion-rejection"),
    path("projects/<int:project_id>/next/", views.NextDocumentView.as_view(), name="next-document"),
    path("projects/<int:project_id>/my-documents/", views.MyDocumentsView.as_view(), name="my-documents"),
    path("documents/<int:document_id>/annotation/", views.AnnotationView.as_view(), name="annotation"),
    path("documents/<int:document_id>/annotations/", views.DocumentAnnotationsView.as_view(),
         name="document-annotations"),
    path("jobs/<int:job_id>/", views.JobDetailView.as_view(), name="job-detail"),
    path("jobs/<int:job_id>/cancel/", views.JobCancelView.as_view(), name="job-cancel"),
]
