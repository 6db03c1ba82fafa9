"""The ``lampyris`` command line: one module per command group, wired in ``app``."""
