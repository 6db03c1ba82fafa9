"""Starters for the real servers the integration tests talk to, and small client helpers.

Importable as ``support`` (pytest puts ``tests/`` on ``sys.path``, see pyproject.toml).
"""
