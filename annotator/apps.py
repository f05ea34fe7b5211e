from django.apps import AppConfig


class AnnotatorConfig(AppConfig):
    name = "annotator"
    verbose_name = "Annotator pages"

    def ready(self):
        from annotator.security import check_secret_key

        check_secret_key()  # every process (web, worker, command) refuses to start without one, DEBUG off
