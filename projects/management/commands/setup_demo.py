"""Load the seed demo: a project from seeds/demo.json, its labels and documents, and two demo users.

Idempotent: running it again changes nothing and prints the same credentials.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from projects.actions.documents import do_create_documents
from projects.actions.labels import do_create_label
from projects.actions.members import do_add_member
from projects.actions.projects import do_create_project
from projects.models import Project
from projects.roles import Role

SEEDS_DIR = settings.BASE_DIR / "seeds"


class Command(BaseCommand):
    help = "Create the demo project from seeds/ and a demo admin and annotator (prints their passwords)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", default=str(SEEDS_DIR / "demo.json"), help="Project definition (JSON).")
        parser.add_argument("--credentials", default=str(settings.VAR_DIR / "demo-credentials.json"),
                            help="Where the generated demo passwords are kept between runs.")

    def handle(self, *args, seed, credentials, **options):
        seed_path = Path(seed)
        try:
            definition = json.loads(seed_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read the seed definition {seed_path}: {exc}") from exc
        passwords = self._passwords(Path(credentials))
        with transaction.atomic():
            admin = self._user("demo-admin", passwords["demo-admin"], staff=True)
            annotator = self._user("demo-annotator", passwords["demo-annotator"], staff=False)
            project = Project.objects.filter(name=definition["name"]).first()
            if project is None:
                project = self._create_project(definition, seed_path.parent, admin, annotator)
                self.stdout.write(f"Created the demo project {project.name!r} with "
                                  f"{project.documents.count()} documents.")
            else:
                self.stdout.write(f"The demo project {project.name!r} is already there.")
        self.stdout.write(self.style.SUCCESS(
            "Demo users (passwords kept in {}):\n  demo-admin      {}\n  demo-annotator  {}".format(
                credentials, passwords["demo-admin"], passwords["demo-annotator"])))

    def _passwords(self, path: Path) -> dict:
        if path.exists():
            return json.loads(path.read_text())
        passwords = {name: secrets.token_urlsafe(9) for name in ("demo-admin", "demo-annotator")}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(passwords))
        path.chmod(0o600)
        return passwords

    def _user(self, username: str, password: str, *, staff: bool):
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.is_staff = user.is_superuser = staff
            user.save()
        return user

    def _create_project(self, definition: dict, folder: Path, admin, annotator) -> Project:
        project = do_create_project(
            acting_user=admin,
            name=definition["name"],
            description=definition.get("description", ""),
            guidelines=definition.get("guidelines", ""),
            language=definition.get("language", "en"),
        )
        do_add_member(project, annotator.username, Role.ANNOTATOR, acting_user=admin)
        for label in definition.get("labels", []):
            do_create_label(project, acting_user=admin, **label)
        lines = (folder / definition["documents"]).read_text(encoding="utf-8").splitlines()
        do_create_documents(project, [{"text": line, "meta": {"source": definition["documents"], "paragraph": i}}
                                      for i, line in enumerate(lines, start=1) if line.strip()], acting_user=admin)
        return project
