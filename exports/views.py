from __future__ import annotations

import uuid

from django.core.files.storage import default_storage
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from exports.formats import IMPORT_FORMATS
from exports.tasks import run_import_task
from projects.access import access_project
from projects.actions.jobs import do_create_job
from projects.models import Job
from projects.roles import Role
from projects.serializers import JobEnvelopeSerializer, JobSerializer


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=IMPORT_FORMATS)
    create_labels = serializers.BooleanField(default=False)
    skip_duplicates = serializers.BooleanField(
        default=True, help_text="Skip documents whose text is already in the project (or earlier in the file).")


def start_import(project, upload, *, fmt: str, create_labels: bool, skip_duplicates: bool, acting_user) -> Job:
    """Store the upload and queue its import job once the job row is committed."""
    path = default_storage.save(f"imports/{uuid.uuid4().hex}/{upload.name or 'upload'}", upload)
    with transaction.atomic():
        job = do_create_job(project, Job.Kind.IMPORT, acting_user=acting_user, params={
            "path": path, "format": fmt, "filename": upload.name, "create_labels": create_labels,
            "skip_duplicates": skip_duplicates,
        })
        transaction.on_commit(lambda: run_import_task.delay(job.pk))
    return job


class ImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": ImportRequestSerializer}, responses={202: JobEnvelopeSerializer})
    def post(self, request, project_id):
        project, _ = access_project(request.user, project_id, need=Role.ADMIN)
        data = ImportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = start_import(
            project, data.validated_data["file"], fmt=data.validated_data["format"],
            create_labels=data.validated_data["create_labels"],
            skip_duplicates=data.validated_data["skip_duplicates"], acting_user=request.user,
        )
        job.refresh_from_db()
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


