"""The HTTP server: Adobe-compatible routes over the jobs and storage layers."""

from lampyris.api.app import create_app
from lampyris.api.settings import ServerConfig, ServerSettings

__all__ = ["ServerConfig", "ServerSettings", "create_app"]
