"""Widgets of the main screen: project tree, flow view, step cards, config pane, problems."""
