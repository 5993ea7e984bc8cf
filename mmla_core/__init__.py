"""MMLA Studio's headless core: media, store, tasks, prompts, datasets, models, training, eval.

Nothing in this package imports Qt (a test enforces it), so every GUI action has a CLI twin.
"""

__version__ = "0.1.0"
