from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from annotator import pages
from curation import pages as curation_pages
from exports.admin_views import admin_export, admin_import

# The API docs page is drf-spectacular's Redoc page with Redoc from /static/ (drf-spectacular-sidecar) and no web
# fonts, so it loads nothing from elsewhere; Redoc runs its search in a blob: worker, which only this page allows.
REDOC_CSP = {"worker-src": ["'self'", "blob:"]}
API_DOCS = SpectacularRedocView.as_view(url_name="schema", template_name="annotator/api_docs.html")

urlpatterns = [
    path("", pages.home, name="home"),
    path("projects/<int:project_id>/annotate/", pages.annotate, name="annotate"),
    path("projects/<int:project_id>/review/", curation_pages.review, name="review"),
    path("projects/<int:project_id>/dashboard/", pages.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/projects/project/<int:project_id>/import/", admin.site.admin_view(admin_import),
         name="admin-project-import"),
    path("admin/projects/project/<int:project_id>/export/", admin.site.admin_view(admin_export),
         name="admin-project-export"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", csp_update(REDOC_CSP)(API_DOCS), name="docs"),
    path("api/v1/", include("projects.urls")),
    path("api/v1/", include("curation.urls")),
    path("api/v1/", include("exports.urls")),
    path("api/v1/", include("pipelines.urls")),
]

handler404 = "annotator.errors.not_found"
