"""Pixel work on numpy arrays: decode/encode, matte refinement, layout, compositing."""
