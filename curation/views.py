"""REST endpoints of curation: parse, authorise (access_*), call one action or selector, serialise."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from curation import selectors
from curation.actions import agreement_for
from projects.access import access_document, access_project
from projects.actions import assignments as assignment_actions
from projects.actions import gold as gold_actions
from projects.actions import reopenings as reopening_actions
from projects.actions.jobs import sweep_lost_jobs
from projects.inputs import check_input
from projects.models import Assignment, Document
from projects.roles import Role
from projects.selectors import annotation_of, serialize_annotation
from projects.serializers import AnnotationSerializer, JobEnvelopeSerializer, JobSerializer, PageTokensField
from projects.views import (ANNOTATION_RESPONSE, TOKEN_FORMAT_PARAMETER, annotation_conflict, parse_id_list,
                            parse_token_format)

# Assignments --------------------------------------------------------------------------------------


class AssignmentSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username")
    assigned_by = serializers.CharField(source="assigned_by.username", allow_null=True, default=None)
    document = serializers.IntegerField(source="document_id")

    class Meta:
        model = Assignment
        fields = ["document", "annotator", "assigned_by", "created_at", "expires_at", "submitted_at"]


class AssignRequestSerializer(serializers.Serializer):
    documents = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=10000)
    annotator = serializers.CharField(required=False, help_text="Who gets the documents (a project member).")
    from_user = serializers.CharField(required=False, help_text="Whose unsubmitted assignments move (or are "
                                                                "withdrawn, without annotator).")


class AssignmentListView(generics.ListAPIView):
    """GET: who holds which document (reviewers, admins); POST: assign, reassign or withdraw (admins)."""

    serializer_class = AssignmentSerializer
    queryset = Assignment.objects.none()  # for the schema; get_queryset() is what runs
    conflicts = {"POST": ("document_full", "not_assigned", "already_submitted")}

    @extend_schema(parameters=[OpenApiParameter("document", int), OpenApiParameter("annotator")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        project, _ = access_project(self.request.user, self.kwargs["project_id"], Role.REVIEWER)
        assignments = Assignment.objects.filter(project=project).select_related("annotator", "assigned_by")
        document = parse_id_list(self.request.query_params.get("document", ""), "document")
        if document:
            assignments = assignments.filter(document_id__in=document)
        if self.request.query_params.get("annotator"):
            check_input(self.request.query_params["annotator"], "annotator")
            assignments = assignments.filter(annotator__username=self.request.query_params["annotator"])
        return assignments.order_by("document_id", "id")

    @extend_schema(request=AssignRequestSerializer, responses=AssignmentSerializer(many=True))
    def post(self, request, project_id):
        project, _ = access_project(request.user, project_id, Role.ADMIN)
        data = AssignRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = assignment_actions.do_assign_documents(
            project, data.validated_data["documents"], acting_user=request.user,
            annotator=data.validated_data.get("annotator"), from_user=data.validated_data.get("from_user"))
        for assignment in made:
            assignment.assigned_by = request.user
        return Response(AssignmentSerializer(made, many=True).data)


# Gold ---------------------------------------------------------------------------------------------

class AdoptSerializer(serializers.Serializer):
    from_user = serializers.CharField(help_text="The annotator whose submitted annotation becomes gold.")
    version = serializers.IntegerField(min_value=0, required=False,
                                       help_text="The gold version this is based on; without it, any.")


class GoldView(APIView):
    """The curated annotation: same body and version rules as an annotation; reviewers and admins only."""

    conflicts = {"PUT": ("version_conflict",), "POST": ("not_submitted", "version_conflict")}

    @extend_schema(responses=ANNOTATION_RESPONSE)
    def get(self, request, document_id):
        document, _ = access_document(request.user, document_id, need=Role.REVIEWER)
        return Response(serialize_annotation(annotation_of(document, None, gold=True)))

    @extend_schema(request=AnnotationSerializer,
                   responses={200: ANNOTATION_RESPONSE, 409: annotation_conflict(*conflicts["PUT"])})
    def put(self, request, document_id):
        document, _ = access_document(request.user, document_id, need=Role.REVIEWER)
        data = AnnotationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(gold_actions.do_save_gold(document, acting_user=request.user, **data.to_records()))

    @extend_schema(request=AdoptSerializer, responses=ANNOTATION_RESPONSE)
    def post(self, request, document_id):
        document, _ = access_document(request.user, document_id, need=Role.REVIEWER)
        data = AdoptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(gold_actions.do_adopt_gold(document, acting_user=request.user, **data.validated_data))


# Review -------------------------------------------------------------------------------------------

class ReopeningSerializer(serializers.Serializer):
    """Who reopened a reviewed document and when; what happened since (the API shape of a Reopening)."""

    reopened_by = serializers.CharField(allow_null=True)
    reopened_at = serializers.DateTimeField()
    changed_at = serializers.DateTimeField(allow_null=True, help_text="When an annotation first changed since.")
    closed_by = serializers.CharField(allow_null=True, help_text="Whose gold save locked the document again.")
    closed_at = serializers.DateTimeField(allow_null=True, help_text="Empty while the document is open.")


class ReviewItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField(help_text="The first 200 characters.")
    meta = serializers.JSONField()
    status = serializers.CharField()
    disagreement = serializers.FloatField(help_text="1 - mean pairwise span F1 of the submitted annotations.")
    annotators = serializers.ListField(child=serializers.CharField(), help_text="Who submitted it.")
    reopened = serializers.BooleanField(help_text="A reviewer reopened it: annotators can change their annotations.")
    changed_since_review = serializers.BooleanField(
        help_text="Reopened, and an annotation changed since: its gold is out of date (it is back in the queue).")

    def to_representation(self, document: Document):
        reopening = self.context["reopenings"].get(document.pk)
        return {"id": document.pk, "text": document.text[:200], "meta": document.meta, "status": document.status,
                "disagreement": document.disagreement,
                "annotators": self.context["annotators"].get(document.pk, []),
                "reopened": reopening is not None,
                "changed_since_review": reopening is not None and reopening.changed_at is not None}


class ReviewQueueView(generics.ListAPIView):
    """Documents k people submitted and nobody reviewed yet (or reopened and changed since), most disagreement first."""

    serializer_class = ReviewItemSerializer
    queryset = Document.objects.none()  # for the schema; get_queryset() is what runs

    @extend_schema(parameters=[
        OpenApiParameter("status", enum=list(selectors.REVIEWABLE), description="submitted (default) or reviewed"),
        OpenApiParameter("skip", description="Comma-separated document ids to pass over."),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        project, _ = access_project(self.request.user, self.kwargs["project_id"], Role.REVIEWER)
        wanted = self.request.query_params.get("status", "submitted")
        if wanted not in selectors.REVIEWABLE:
            raise serializers.ValidationError({"status": ["must be submitted or reviewed"]})
        skip = parse_id_list(self.request.query_params.get("skip", ""), "skip")
        return selectors.review_queue(project, status=wanted, skip=skip)

    def get_serializer(self, *args, **kwargs):
        page = args[0] if args else []
        kwargs["context"] = {**self.get_serializer_context(), "annotators": selectors.submitted_by(page),
                             "reopenings": selectors.open_reopenings(page)}
        return self.serializer_class(*args, **kwargs)


class ReviewDocumentView(APIView):
    """One document for the review page: text, tokens, gold, everyone's annotations and their alignment.

    ``document`` also says whether it is locked for annotators, its open reopening (if any) and whether an
    annotation changed since; ``reopenings`` lists who reopened it and when, newest first.
    """

    @extend_schema(parameters=[TOKEN_FORMAT_PARAMETER], responses=inline_serializer("ReviewBundle", {
        "document": serializers.DictField(), "tokens": PageTokensField(help_text="The first page of tokens."),
        "tokens_count": serializers.IntegerField(help_text="How many tokens the document has."),
        "tokens_next": serializers.CharField(allow_null=True, help_text="Where the rest of the tokens are (the "
                                             "tokens endpoint with ?offset=), or null when `tokens` has them all."),
        "gold": ANNOTATION_RESPONSE, "annotations": serializers.ListField(child=serializers.DictField()),
        "alignment": serializers.DictField(), "reopenings": ReopeningSerializer(many=True),
    }))
    def get(self, request, document_id):
        document, _ = access_document(request.user, document_id, need=Role.REVIEWER)
        token_format = parse_token_format(request)
        return Response(selectors.review_bundle(document, token_format))


class ReopenView(APIView):
    """Reopen a reviewed document: its annotators can change their annotations again (reviewers and admins).

    The gold stays in place (exports keep using it); a change brings the document back to the review queue,
    flagged ``changed_since_review``; the next gold save or adoption locks it again. 409 ``not_reviewed`` when
    the document has no gold, ``already_reopened`` when it is open already.
    """

    conflicts = {"POST": ("not_reviewed", "already_reopened")}

    @extend_schema(request=None, responses=ReopeningSerializer)
    def post(self, request, document_id):
        document, _ = access_document(request.user, document_id, need=Role.REVIEWER)
        reopening = reopening_actions.do_reopen_document(document, acting_user=request.user)
        return Response(selectors.serialize_reopening(reopening))


# Agreement and progress ---------------------------------------------------------------------------

class AgreementView(APIView):
    """Pairwise span P/R/F1, token kappa per pair, Krippendorff's alpha; 202 with a job while a worker computes."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 202: JobEnvelopeSerializer})
    def get(self, request, project_id):
        project, _ = access_project(request.user, project_id, Role.REVIEWER)
        result, job = agreement_for(project, acting_user=request.user)
        if job is not None:
            return Response({"job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED)
        return Response(result)


class ProgressView(APIView):
    """Documents by status; per annotator what they hold and submitted (today, this week, in all); last jobs."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, project_id):
        project, _ = access_project(request.user, project_id, Role.REVIEWER)
        sweep_lost_jobs()  # its jobs read as they are: one whose worker died is not shown running
        return Response({**selectors.project_progress(project),
                         "jobs": JobSerializer(selectors.last_jobs(project), many=True).data})
