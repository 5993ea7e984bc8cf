"""The Probe tab: ask local models about a clip, probe sets, model checks, figures."""
