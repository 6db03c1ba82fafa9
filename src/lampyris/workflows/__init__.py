"""Batch work over many images: finding inputs, mapping outputs, running ops in parallel."""
