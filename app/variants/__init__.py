"""Modality-conflict variants of a clip."""
