from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.actions import do_start_prelabel, do_start_training
from pipelines.prelabel import LabelMapper
from pipelines.registry import available_models, label_map_of
from pipelines.serializers import AvailableModelSerializer, PrelabelSerializer, TrainSerializer
from projects.access import access_project
from projects.models import Label
from projects.pagination import PageNumberPagination
from projects.roles import Role
from projects.serializers import JobEnvelopeSerializer, JobSerializer


def job_accepted(job) -> Response:
    job.refresh_from_db()
    return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


class PrelabelView(APIView):
    @extend_schema(request=PrelabelSerializer, responses={202: JobEnvelopeSerializer})
    def post(self, request, project_id):
        project, _ = access_project(request.user, project_id, need=Role.ADMIN)
        data = PrelabelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = do_start_prelabel(project, model=data.validated_data["model"],
                                version=data.validated_data.get("version"),
                                documents=data.validated_data.get("documents"),
                                open_only=data.validated_data["open_only"], acting_user=request.user)
        return job_accepted(job)


class ModelListView(APIView):
    pagination_class = PageNumberPagination
    conflicts = {"POST": ("training_running",)}

    @extend_schema(responses=AvailableModelSerializer(many=True))
    def get(self, request, project_id):
        project, _ = access_project(request.user, project_id, need=Role.ANNOTATOR)
        entity_labels = dict(Label.objects.filter(project=project, kind=Label.Kind.ENTITY).values_list("name", "id"))
        label_map = label_map_of(project)
        mapper = LabelMapper(entity_labels, label_map if isinstance(label_map, dict) else {})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(available_models(project), request, view=self)
        data = AvailableModelSerializer(page, many=True, context={"mapper": mapper}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=TrainSerializer, responses={202: JobEnvelopeSerializer})
    def post(self, request, project_id):
        project, _ = access_project(request.user, project_id, need=Role.ADMIN)
        data = TrainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = do_start_training(project, name=data.validated_data["name"], base=data.validated_data.get("base"),
                                epochs=data.validated_data.get("epochs"), acting_user=request.user)
        return job_accepted(job)
