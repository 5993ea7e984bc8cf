"""Curation: browse, label, check, transcribe, adjudicate, import and export clips."""
