"""The Textual app. The only package that imports textual.

Entry point: `workbench.tui.app.WorkbenchApp(root)`; `workbench [DIR]` runs it (see cli/app.py).
"""
