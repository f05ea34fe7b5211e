from django.db import models


class Role(models.TextChoices):
    """Project roles; each includes the rights of the ones below it."""

    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    ADMIN = "admin", "Admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: "Role") -> bool:
        return self.rank >= Role(other).rank


_RANKS = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.ADMIN: 3}
