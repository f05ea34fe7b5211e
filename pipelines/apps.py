from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "pipelines"
    verbose_name = "Pre-labelling and models"

    def ready(self):
        from pipelines.loop import on_annotation_submitted
        from projects.signals import annotation_submitted

        annotation_submitted.connect(on_annotation_submitted, dispatch_uid="pipelines.loop")
