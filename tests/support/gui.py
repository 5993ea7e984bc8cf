"""Small helpers for driving the real main window in GUI tests."""


def menu_action(window, text: str):
    """The File/Edit/... menu action whose text (without '&') starts with `text`."""
    for menu_action_ in window.menuBar().actions():
        for action in menu_action_.menu().actions():
            if action.text().replace("&", "").startswith(text):
                return action
    raise AssertionError(f"no menu action {text!r}")
