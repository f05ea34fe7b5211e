from django.urls import path

from pipelines import views

urlpatterns = [
    path("projects/<int:project_id>/prelabel/", views.PrelabelView.as_view(), name="prelabel"),
    path("projects/<int:project_id>/models/", views.ModelListView.as_view(), name="model-list"),
]
