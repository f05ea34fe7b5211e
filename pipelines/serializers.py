from __future__ import annotations

from rest_framework import serializers

from pipelines.prelabel import LabelMapper
from pipelines.registry import ModelInfo, Source


class PrelabelSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="A name from GET .../models/: a package, a registered folder, a "
                                            "trained model or 'rules'.")
    version = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                    help_text="A trained model's version (default: the latest); for other "
                                              "models, the version it must have.")
    documents = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_null=True,
                                      max_length=1_000_000, help_text="Document ids; all documents if left out.")
    open_only = serializers.BooleanField(required=False, default=False,
                                         help_text="Only documents not yet annotated (unlabelled or in progress): "
                                                   "the pool the queue hands out.")


class TrainSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, help_text="The trained model's name; each training makes a new "
                                                          "version of it.")
    base = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                 help_text="A pipeline to start from (a name from GET .../models/); "
                                           "a blank one of the project language if left out.")
    epochs = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=500)


class TrainedVersionSerializer(serializers.Serializer):
    version = serializers.CharField()
    trained_on = serializers.CharField()
    base = serializers.CharField(allow_null=True)
    labels = serializers.ListField(child=serializers.CharField())
    scores = serializers.DictField()
    documents = serializers.DictField()
    created = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    job = serializers.IntegerField(allow_null=True)


class CurvePointSerializer(serializers.Serializer):
    version = serializers.CharField()
    documents = serializers.IntegerField(help_text="Documents in the train split it was trained on.")
    f = serializers.FloatField(allow_null=True, help_text="F1 on the dev split.")
    trained_on = serializers.CharField()


class AvailableModelSerializer(serializers.Serializer):
    """One available model; ``maps_to`` says which project label each model label becomes (null: dropped)."""

    name = serializers.CharField()
    source = serializers.ChoiceField(choices=["rules", "trained", "directory", "package"])
    version = serializers.CharField()
    language = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    has_ner = serializers.BooleanField()
    components = serializers.ListField(child=serializers.CharField())
    maps_to = serializers.DictField(child=serializers.CharField(allow_null=True))
    versions = TrainedVersionSerializer(many=True, required=False)
    learning_curve = CurvePointSerializer(many=True, required=False,
                                          help_text="A trained model's versions: dev F1 against train documents.")

    def to_representation(self, info: ModelInfo) -> dict:
        mapper: LabelMapper = self.context["mapper"]
        data = {"name": info.name, "source": info.source, "version": info.version, "language": info.language,
                "labels": list(info.labels), "has_ner": info.has_ner, "components": list(info.components),
                "maps_to": mapper.describe(info.labels)}
        if info.source == Source.TRAINED:
            data["versions"] = [
                {"version": str(t.version), "trained_on": t.trained_on, "base": t.base or None, "labels": t.labels,
                 "scores": t.scores, "documents": t.documents, "created": t.created.isoformat(),
                 "created_by": t.created_by.username if t.created_by_id else None, "job": t.job_id}
                for t in info.versions
            ]
            data["learning_curve"] = [t.curve_point for t in info.versions]
        return data
