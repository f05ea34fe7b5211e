"""Static files with DEBUG off: hashed and compressed once ``collectstatic`` ran, plain names before.

WhiteNoise's manifest storage answers every page that links a static file with a 500 ("Missing staticfiles
manifest entry") when ``collectstatic`` never ran. This storage then gives the plain names instead, which
WhiteNoise serves from the apps' own folders (settings: ``WHITENOISE_USE_FINDERS``), so the product works
either way; ``collectstatic`` (README, production) adds the hashed, cacheable, compressed names.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.collected = bool(self.hashed_files)  # the manifest collectstatic writes, read when this starts

    def stored_name(self, name):
        if not self.collected:
            return name
        return super().stored_name(name)
