"""Evaluation: inter-annotator agreement (`agreement`); prediction metrics and modality reliance
join here as they are built."""
