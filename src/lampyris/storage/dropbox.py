"""Dropbox credentials: where ``dropbox://`` finds them, and what to say when Dropbox refuses.

The environment variables named here (``DROPBOX_TOKEN``, ``DROPBOX_REFRESH_TOKEN``,
``DROPBOX_APP_KEY``, ``DROPBOX_APP_SECRET``) are read in ``dropbox_auth`` and named again in
the messages of ``refused_token``, so they live in one place. The SDK is an optional extra,
imported only where a refresh token needs its client.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from lampyris.errors import InvalidParameterError, StorageCredentialsError

_REFRESH = "set DROPBOX_REFRESH_TOKEN + DROPBOX_APP_KEY so it refreshes itself"


def dropbox_auth(options: dict[str, Any]) -> dict[str, Any]:
    """Dropbox credentials: explicit ``token``/``client`` options win; else ``DROPBOX_TOKEN``
    (a short-lived access token); else ``DROPBOX_REFRESH_TOKEN`` + ``DROPBOX_APP_KEY`` (+
    ``DROPBOX_APP_SECRET``), which refresh themselves: what a weekly ``--watch`` needs."""
    # the SDK logs "Unable to refresh access token…" before raising the AuthError that
    # ``refused_token`` makes one line of: a second line would only repeat it
    logging.getLogger("dropbox").setLevel(logging.ERROR)
    if "token" in options or "client" in options:
        return options
    env = os.environ
    if env.get("DROPBOX_TOKEN"):
        return {**options, "token": env["DROPBOX_TOKEN"]}
    if env.get("DROPBOX_REFRESH_TOKEN") and env.get("DROPBOX_APP_KEY"):
        try:
            import dropbox
        except ImportError:
            raise InvalidParameterError(
                "dropbox:// needs an extra package: pip install 'lampyris[dropbox]'") from None
        client = dropbox.Dropbox(oauth2_refresh_token=env["DROPBOX_REFRESH_TOKEN"],
                                 app_key=env["DROPBOX_APP_KEY"],
                                 app_secret=env.get("DROPBOX_APP_SECRET"))
        return {**options, "client": client}
    raise InvalidParameterError(
        "dropbox:// needs credentials: set DROPBOX_TOKEN, or DROPBOX_REFRESH_TOKEN and "
        "DROPBOX_APP_KEY (and DROPBOX_APP_SECRET), or --storage-option dropbox.token=…")


def refused_token(error: Any) -> StorageCredentialsError:
    """The one line for the SDK's ``AuthError.error`` (an ``AuthError`` union: its ``_tag``
    says why Dropbox refused the token)."""
    tag = str(getattr(error, "_tag", None) or "other")
    if tag == "expired_access_token":
        return StorageCredentialsError("Dropbox refused the token (expired): get a new "
                                       f"DROPBOX_TOKEN, or {_REFRESH}", 401)
    if tag == "invalid_access_token":
        return StorageCredentialsError(
            "Dropbox refused the token (invalid): check DROPBOX_TOKEN or --storage-option "
            "dropbox.token (or DROPBOX_REFRESH_TOKEN and DROPBOX_APP_KEY if set)", 401)
    if tag == "missing_scope":
        scope = getattr(getattr(error, "_value", None), "required_scope", "?")
        return StorageCredentialsError(
            f"Dropbox refused the token (missing scope {scope}): allow it in the app's "
            "Permissions tab, then make a new token", 401)
    return StorageCredentialsError(f"Dropbox refused the token ({tag}): get a new "
                                   f"DROPBOX_TOKEN, or {_REFRESH}", 401)
