"""Modal screens: connector palette, forms, step panel, confirmation. Imported lazily by the app."""
