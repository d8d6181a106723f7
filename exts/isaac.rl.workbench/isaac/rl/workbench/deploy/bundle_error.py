"""The error of a deployment bundle that cannot be used."""

from __future__ import annotations


class BundleError(ValueError):
    """A deployment bundle is missing a file, has a malformed ``deploy.json`` or a model that does not fit it; the
    message (one line) names the file, the key and what was expected.

    Attributes:
        key: the dotted key of ``deploy.json`` the message names (list items as ``[i]``: ``safety.hold_kp[2]``),
            None when it names none.
    """

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key
