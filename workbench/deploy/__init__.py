"""Hand a project to an existing distributed engine: `workbench export kubernetes`."""
