from django.apps import AppConfig


class CurationConfig(AppConfig):
    """Review, gold and agreement: reads the projects' data, writes only through projects' actions."""

    name = "curation"
    default_auto_field = "django.db.models.BigAutoField"
