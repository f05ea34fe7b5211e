from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from annotator import pages
from curation import pages as curation_pages
from exports.admin_views import admin_export, admin_import

# The API docs page is drf-spectacular's Redoc page, which loads Redoc and its fonts from CDNs (until it is served
# from /static/) and runs its search in a blob: worker: only this page's policy allows them.
REDOC_CSP = {
    "script-src": ["https://cdn.jsdelivr.net"],
    "style-src": ["https://fonts.googleapis.com"],
    "font-src": ["'self'", "https://fonts.gstatic.com"],
    "worker-src": ["'self'", "blob:"],
}

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
    path("api/v1/docs/", csp_update(REDOC_CSP)(SpectacularRedocView.as_view(url_name="schema")), name="docs"),
    path("api/v1/", include("projects.urls")),
    path("api/v1/", include("curation.urls")),
    path("api/v1/", include("exports.urls")),
    path("api/v1/", include("pipelines.urls")),
]

handler404 = "annotator.errors.not_found"
