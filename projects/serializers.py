from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from projects.actions.jobs import live_progress
from projects.inputs import text_problem
from projects.models import Document, Job, Label, Membership, Project
from projects.roles import Role
from projects.selectors import is_locked, labels_of
from projects.spans import RelationIn, SpanIn


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in the project.")

    class Meta:
        model = Project
        fields = [
            "id", "name", "description", "guidelines", "language", "allow_overlapping_spans",
            "annotators_per_document", "overlap_sample", "queue_order", "uncertainty_sampling", "retrain_every",
            "retrain_model", "split_train", "split_dev", "split_test", "split_seed",
            "created_at", "updated_at", "role",
        ]
        read_only_fields = ["id", "created_at", "updated_at", "role"]
        extra_kwargs = {"annotators_per_document": {"min_value": 1, "max_value": 32767},  # safe on every database
                        "overlap_sample": {"min_value": 0, "max_value": 1},
                        "split_train": {"min_value": 0, "max_value": 1},
                        "split_dev": {"min_value": 0, "max_value": 1},
                        "split_test": {"min_value": 0, "max_value": 1}}

    def get_role(self, project) -> str | None:
        request = self.context.get("request")
        role = getattr(project, "user_role", None)
        if role is None and request is not None and request.user.is_staff:
            return Role.ADMIN
        return role


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)

    def to_representation(self, membership: Membership):
        return {"username": membership.user.username, "role": membership.role}


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class LabelSerializer(serializers.ModelSerializer):
    color = serializers.CharField(required=False, allow_blank=True, max_length=7)
    shortcut = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=1, trim_whitespace=False)

    class Meta:
        model = Label
        fields = ["id", "name", "kind", "color", "shortcut"]
        read_only_fields = ["id"]
        validators = []  # uniqueness is checked by the action, with a message that names the clash


class DocumentSerializer(serializers.ModelSerializer):
    meta = serializers.JSONField(required=False, default=dict)
    locked = serializers.SerializerMethodField(
        help_text="True when the document has gold and is not reopened: annotations of it are read-only "
                  "(a PUT gets 409 document_reviewed).")

    class Meta:
        model = Document
        fields = ["id", "text", "meta", "status", "locked", "created_at"]
        read_only_fields = ["id", "status", "created_at"]

    def get_locked(self, document: Document) -> bool:
        return is_locked(document)

    def validate_meta(self, value):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be an object")
        return value

    def validate_text(self, value):
        if not value.strip():
            raise serializers.ValidationError("a document needs non-empty text")
        return value


class TokenSerializer(serializers.Serializer):
    i = serializers.IntegerField()
    text = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    ws = serializers.BooleanField()


class CompactTokensSerializer(serializers.Serializer):
    """A page's tokens as parallel arrays (`?format=compact`): token k starts `gap[k]` code points after token
    k - 1 ends (the first: after 0) and ends `length[k]` later."""

    gap = serializers.ListField(child=serializers.IntegerField(min_value=0), help_text=(
        "Code points from the end of the page's previous token to this token's start (for the page's first "
        "token: its start)."))
    length = serializers.ListField(child=serializers.IntegerField(min_value=0),
                                   help_text="end - start, in code points.")
    ws = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=1),
                               help_text="1 when one space follows the token.")


@extend_schema_field(PolymorphicProxySerializer(
    component_name="PageTokens", serializers=[TokenSerializer(many=True), CompactTokensSerializer],
    resource_type_field_name=None, many=False))
class PageTokensField(serializers.JSONField):
    """A page's ``tokens``: a token per object (the default), or parallel arrays with ``?format=compact``."""


class TokensSerializer(serializers.Serializer):
    tokens = PageTokensField()
    count = serializers.IntegerField(help_text="How many tokens the document has.")
    offset = serializers.IntegerField(help_text="The index of the first token in `tokens`.")
    next = serializers.URLField(allow_null=True, help_text="The next page of tokens, or null after the last.")


@extend_schema_field({"oneOf": [{"type": "string", "minLength": 1, "maxLength": 64}, {"type": "integer"}]})
class SpanKeyField(serializers.Field):
    """A client-chosen span id: a string or an integer."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            raise serializers.ValidationError("a span id is a string or an integer")
        key = str(data)
        if not key or len(key) > 64:
            raise serializers.ValidationError("a span id has 1 to 64 characters")
        problem = text_problem(key)
        if problem:
            raise serializers.ValidationError(f"the span id {problem}")
        return key

    def to_representation(self, value):
        return value


class SpanInSerializer(serializers.Serializer):
    id = SpanKeyField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    label = serializers.CharField()


class RelationInSerializer(serializers.Serializer):
    head = SpanKeyField()
    tail = SpanKeyField()
    label = serializers.CharField()


class AnnotationSerializer(serializers.Serializer):
    spans = SpanInSerializer(many=True)
    relations = RelationInSerializer(many=True, required=False, default=list)
    status = serializers.ChoiceField(choices=["in_progress", "submitted"], default="in_progress")
    version = serializers.IntegerField(min_value=0, help_text="The version this edit is based on (0 before the first save).")

    def to_records(self) -> dict:
        data = self.validated_data
        return {
            "spans": [SpanIn(s["id"], s["start"], s["end"], s["label"]) for s in data["spans"]],
            "relations": [RelationIn(r["head"], r["tail"], r["label"]) for r in data["relations"]],
            "status": data["status"],
            "version": data["version"],
        }


class JobSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "kind", "status", "progress", "error", "result", "project", "created_at", "started_at",
                  "heartbeat_at", "finished_at"]

    def get_progress(self, job) -> dict:
        done, total = live_progress(job)
        return {"done": done, "total": total}


class JobEnvelopeSerializer(serializers.Serializer):
    job = JobSerializer()


class AuthTokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


def project_for_page(project: Project, request) -> dict:
    """What ``GET /projects/{id}/`` and ``GET /projects/{id}/labels/`` answer, for a page to carry in its config:
    the workspace and the review page show their first text after one API request (the document's), not three."""
    return {"project": ProjectSerializer(project, context={"request": request}).data,
            "labels": LabelSerializer(labels_of(project), many=True).data}
