from __future__ import annotations

import base64

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from exports.actions import (SCHEMES, check_export_args, count_export_documents, do_create_snapshot,
                             do_start_export, do_start_import, do_start_snapshot, spooled_export)
from exports.collect import SOURCES
from exports.formats import EXPORT_FORMATS, FORMATS, IMPORT_FORMATS, READER_OPTIONS, check_reader_options
from exports.formats.conll import DOCUMENTS
from exports.imports import ANNOTATIONS_AS
from exports.models import Snapshot
from exports.splits import SPLITS
from projects.access import access_job, access_project
from projects.errors import over_limit
from projects.models import Job
from projects.roles import Role
from projects.serializers import JobEnvelopeSerializer, JobSerializer
from projects.storage import open_stored


# What a multipart upload adds to its file: the other fields and the parts' headers.
UPLOAD_FORM_BYTES = 64 * 1024


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=IMPORT_FORMATS)
    create_labels = serializers.BooleanField(default=False)
    skip_duplicates = serializers.BooleanField(
        default=True, help_text="Skip documents whose text is already in the project (or earlier in the file).")
    annotations_as = serializers.ChoiceField(
        choices=ANNOTATIONS_AS, default="submitted",
        help_text="The file's spans become the importer's submitted annotation, or the documents' reviewed gold.")
    documents = serializers.ChoiceField(
        choices=DOCUMENTS, required=False,
        help_text="conll only (400 for another format): where documents start. docstart: at each -DOCSTART- line; "
                  "sentence: every sentence is a document; auto (the default): docstart if the file has a "
                  "-DOCSTART- line, else sentence.")

    def validate(self, attrs):
        errors = check_reader_options(attrs["format"], [name for name in READER_OPTIONS if name in attrs])
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    def initial(self, request, *args, **kwargs):
        # Refuse a file over the limit from its Content-Length, before anything reads it (a session's CSRF
        # check would); the action checks the size of what arrived in any case.
        length = request.META.get("CONTENT_LENGTH") or ""
        if length.isdecimal() and int(length) > settings.IMPORT_MAX_FILE_BYTES + UPLOAD_FORM_BYTES:
            raise over_limit("IMPORT_MAX_FILE_BYTES", f"the upload has {int(length):,} bytes", code="file_too_large")
        super().initial(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": ImportRequestSerializer}, responses={202: JobEnvelopeSerializer})
    def post(self, request, project_id):
        project, _ = access_project(request.user, project_id, need=Role.ADMIN)
        data = ImportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        options = dict(data.validated_data)
        job = do_start_import(project, options.pop("file"), fmt=options.pop("format"), acting_user=request.user,
                              **options)
        job.refresh_from_db()
        return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)


# Exports and snapshots ---------------------------------------------------------------------------

# A download's Content-Type is its format's (text ones name their charset), as the schema says.
DOWNLOADS = {(200, FORMATS[name].media_type): bytes for name in EXPORT_FORMATS}


def file_response(handle, *, filename: str, fmt: str, sha256: str, extra_headers: dict | None = None):
    """The file as an attachment, with its SHA-256 in a header (hex, and RFC 9530 form)."""
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=FORMATS[fmt].media_type)
    response["X-Content-SHA256"] = sha256
    response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"
    for key, value in (extra_headers or {}).items():
        response[key] = str(value)
    return response


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.CharField(default="jsonl", help_text="spacy, conll or jsonl")
    source = serializers.CharField(default="gold", help_text="gold (reviewed) or submitted")
    split = serializers.CharField(required=False, help_text="train, dev or test")
    scheme = serializers.CharField(default="iob2", help_text="CoNLL tags: iob2 or biluo")


# What the schema says of the query (the view checks it, with codes: exports.actions.check_export_args).
FORMAT_PARAMETER = OpenApiParameter("format", enum=EXPORT_FORMATS, default="jsonl", description="The file format.")
EXPORT_PARAMETERS = [
    FORMAT_PARAMETER,
    OpenApiParameter("source", enum=SOURCES, default="gold", description="gold (reviewed) or submitted"),
    OpenApiParameter("split", enum=SPLITS, description="Only this split (by document id); all if left out."),
    OpenApiParameter("scheme", enum=SCHEMES, default="iob2", description="CoNLL tags: iob2 or biluo"),
]


class ExportView(APIView):
    conflicts = {"GET": ("not_exportable",)}

    @extend_schema(parameters=EXPORT_PARAMETERS, responses={**DOWNLOADS, 202: JobEnvelopeSerializer})
    def get(self, request, project_id):
        project, _ = access_project(request.user, project_id, need=Role.REVIEWER)
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        args = dict(fmt=query.validated_data["format"], source=query.validated_data["source"],
                    split=query.validated_data.get("split"), scheme=query.validated_data["scheme"])
        check_export_args(**args)
        if count_export_documents(project, args["source"]) > settings.EXPORT_SYNC_MAX_DOCUMENTS:
            job = do_start_export(project, **args, acting_user=request.user)
            job.refresh_from_db()
            return Response({"job": JobSerializer(job).data, "detail": "large export: it runs as a job; "
                             "download it from the job's result.url when it has succeeded"},
                            status=status.HTTP_202_ACCEPTED)
        spool, info = spooled_export(project, **args)
        headers = {"X-Documents": info.documents}
        if args["fmt"] != "jsonl":
            headers["X-Dropped-Overlapping-Spans"] = info.dropped_overlaps
        return file_response(spool, filename=info.filename, fmt=args["fmt"], sha256=info.sha256,
                             extra_headers=headers)


class JobDownloadView(APIView):
    @extend_schema(responses=DOWNLOADS)
    def get(self, request, job_id):
        job = access_job(request.user, job_id)
        path = (job.result or {}).get("path")
        if job.kind != Job.Kind.EXPORT or job.status != Job.Status.SUCCEEDED or not path:
            raise NotFound("This job has no file to download (yet).")
        return file_response(open_stored(path), filename=job.result["filename"],
                             fmt=job.result["format"], sha256=job.result["sha256"])


class SnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.IntegerField(read_only=True)
    created = serializers.DateTimeField(read_only=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    documents = serializers.IntegerField(read_only=True)
    sha256 = serializers.DictField(child=serializers.CharField(), read_only=True)
    labels = serializers.ListField(child=serializers.DictField(), read_only=True)


class SnapshotListView(APIView):
    conflicts = {"POST": ("not_exportable",)}

    @extend_schema(responses=SnapshotSerializer(many=True))
    def get(self, request, project_id):
        project, _ = access_project(request.user, project_id, need=Role.REVIEWER)
        return Response(SnapshotSerializer(Snapshot.objects.filter(project=project).order_by("number"),
                                           many=True).data)

    @extend_schema(request=SnapshotSerializer, responses={201: SnapshotSerializer, 202: JobEnvelopeSerializer})
    def post(self, request, project_id):
        project, _ = access_project(request.user, project_id, need=Role.ADMIN)
        data = SnapshotSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = data.validated_data["note"]
        if count_export_documents(project, "gold") > settings.EXPORT_SYNC_MAX_DOCUMENTS:
            job = do_start_snapshot(project, note=note, acting_user=request.user)
            job.refresh_from_db()
            return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)
        snapshot = do_create_snapshot(project, note=note, acting_user=request.user)
        return Response(SnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)


def access_snapshot(user, snapshot_id) -> Snapshot:
    """A snapshot, for the reviewers and admins of its project. One who cannot see the project gets the
    same 404 for every snapshot id, stored or not: none says that a snapshot exists."""
    snapshot = Snapshot.objects.filter(pk=snapshot_id).first()
    try:
        if snapshot is None:
            raise NotFound()
        access_project(user, snapshot.project_id, need=Role.REVIEWER)
    except NotFound:
        raise NotFound("No such snapshot.") from None
    return snapshot


class SnapshotExportView(APIView):
    @extend_schema(parameters=[FORMAT_PARAMETER], responses=DOWNLOADS)
    def get(self, request, snapshot_id):
        snapshot = access_snapshot(request.user, snapshot_id)
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in snapshot.files:
            raise serializers.ValidationError({"format": [f"must be one of {', '.join(snapshot.files)}"]})
        stored = snapshot.files[fmt]
        return file_response(open_stored(stored["path"]), filename=stored["filename"], fmt=fmt,
                             sha256=stored["sha256"], extra_headers={"X-Snapshot-Number": snapshot.number})
