"""Connectors: the contract (base.py), the catalogue, auth, and the built-in scim, http and file
connectors. Never imports textual."""
