"""Store the tokens of documents that lack them: stored before tokens were kept, or after a spaCy upgrade.

Exports and pages work without (they tokenize again), only slower.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from projects.actions.documents import do_store_tokens
from projects.models import Project


class Command(BaseCommand):
    help = "Store the tokens of documents that have none, or another spaCy version's or language's."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, action="append", help="a project id (repeat; default: all)")

    def handle(self, *args, project=None, **options):
        projects = Project.objects.order_by("pk")
        if project:
            projects = projects.filter(pk__in=project)
        for each in projects:
            stored = do_store_tokens(each)
            self.stdout.write(f"project {each.pk} ({each.name}): stored the tokens of {stored} documents")
