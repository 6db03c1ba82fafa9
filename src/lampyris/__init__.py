"""lampyris: self-hosted image automation — background removal, fill, tone, batch workflows."""

from __future__ import annotations

__version__ = "0.1.0"
