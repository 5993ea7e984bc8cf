"""Evaluation runs and their results (Evaluate dialog, Results window)."""
