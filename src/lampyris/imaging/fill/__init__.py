"""Fill engines: what goes into the masked hole (Generative Fill / Expand).

``patch`` is content-aware fill copied from the image itself (PatchMatch, no weights);
``guard`` keeps every pixel outside the mask exactly as it was and reports the check.
"""
