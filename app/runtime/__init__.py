"""The app's runtime: what runs work off the GUI thread and carries what it changed."""
