"""Static files with DEBUG off: hashed and compressed once ``collectstatic`` ran, plain names before.

WhiteNoise's manifest storage answers every page that links a static file with a 500 ("Missing staticfiles
manifest entry") when ``collectstatic`` never ran. This storage then gives the plain names instead, which
WhiteNoise serves from the apps' own folders (settings: ``WHITENOISE_USE_FINDERS``), so the product works
either way; ``collectstatic`` (README, production) adds the hashed, cacheable, compressed names.

ES modules' relative imports are rewritten to the hashed names too (the pattern of annotator/modules.py, which
also reads import attributes such as ``with { type: "json" }`` that Django's experimental
``support_js_module_import_aggregation`` does not): every module of a page is then cached for good like any
hashed file, a new release cannot mix old and new modules, and the URLs ``{% module_script %}`` preloads are
the ones the imports ask for.

``collectstatic`` also writes each page's bundle (annotator/modules.py: one file with the entry and every
module it imports), hashed and compressed like the rest; ``{% module_script %}`` then loads it alone.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from whitenoise.storage import CompressedManifestStaticFilesStorage

from annotator.modules import BUNDLED_ENTRIES, IMPORT_RE, REWRITE, bundle_name, bundle_source


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = CompressedManifestStaticFilesStorage.patterns + (
        ("*.js", ((IMPORT_RE.pattern.replace("^", "(?m)^", 1), REWRITE),)),
    )
    # A module's hash depends on its imports' hashed names, so a chain of N imports takes N passes to settle.
    max_post_process_passes = 20

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.collected = bool(self.hashed_files)  # the manifest collectstatic writes, read when this starts

    def post_process(self, paths, dry_run=False, **options):
        if not dry_run:  # the bundles, from the modules just collected, then hashed and compressed with them
            for entry in BUNDLED_ENTRIES:
                name = bundle_name(entry)
                source = bundle_source(entry, self.read_text)
                if self.exists(name):
                    self.delete(name)
                self._save(name, ContentFile(source.encode()))
                paths[name] = (self, name)
        yield from super().post_process(paths, dry_run=dry_run, **options)

    def read_text(self, name: str) -> str:
        with self.open(name) as file:
            return file.read().decode("utf-8")

    def bundled(self, entry: str) -> str | None:
        """The name of ``entry``'s bundle once collectstatic wrote it, else None."""
        name = bundle_name(entry)
        return name if self.collected and name in self.hashed_files else None

    def stored_name(self, name):
        if not self.collected:
            return name
        return super().stored_name(name)
