"""One small function per user action (Anki's `aqt/operations`): each returns an `Op`, the
write to run on the writer thread plus the `Changes` it makes, and `submit` runs it and
announces those changes on the bus with the acting panel as initiator."""
