"""Label shortcuts that are workspace command keys are cleared: such a label hid Skip, Accept all or
the help (``?``) in the page. The labels stay; their button still applies them. The keys are those
of projects/static/projects/workspace_keys.json when this migration was written."""

from django.db import migrations

RESERVED = [" ", "]", "[", "r", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "x", "A", "s", "b", "?"]


def clear_reserved(apps, schema_editor):
    Label = apps.get_model("projects", "Label")
    Label.objects.filter(shortcut__in=RESERVED).update(shortcut="")


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0006_gold_revision_import"),
    ]

    operations = [
        migrations.RunPython(clear_reserved, migrations.RunPython.noop),
    ]
