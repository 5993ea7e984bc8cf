"""Bundled assets (demo clips, icons, desktop entry), importable as `mmla_resources`."""
