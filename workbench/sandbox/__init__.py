"""A local identity provider so anyone can try the reference scenario with no IdP account: an
OAuth2 client-credentials token endpoint and a SCIM 2.0 server on one loopback port.

Importing this package is cheap: Flask, Authlib and scim2-server load in `Sandbox.start()`.
"""

from workbench.sandbox.server import Sandbox, is_loopback

__all__ = ["Sandbox", "is_loopback"]
