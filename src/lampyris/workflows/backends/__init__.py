"""Where batch steps run: ``local`` worker processes or a ``remote`` service."""
