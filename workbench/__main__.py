from workbench.cli import entry

raise SystemExit(entry())
