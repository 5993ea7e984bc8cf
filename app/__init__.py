"""MMLA Studio's PySide6 GUI (imported as `mmla_app`). It imports `mmla_core`, never the reverse.

Importing this package is cheap on purpose: no Qt, no torch. `mmla_app.main:main` starts the app.
"""

from mmla_core import __version__

__all__ = ["__version__"]
