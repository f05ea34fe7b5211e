from django.urls import path

from exports import views

urlpatterns = [
    path("projects/<int:project_id>/imports/", views.ImportView.as_view(), name="import"),
]
