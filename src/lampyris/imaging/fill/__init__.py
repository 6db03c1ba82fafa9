"""Fill engines: what goes into the masked hole (Generative Fill / Expand).

``engines`` picks and runs one: ``studio`` (a procedural backdrop from the prompt's words,
no weights), ``patch`` (content-aware fill copied from the image itself, PatchMatch) or
``diffusion`` (a diffusers inpainting model, optional extra); ``guard`` keeps every pixel
outside the mask exactly as it was and reports the check.
"""
