"""Worked solutions: the engine's steps (:mod:`app.nn.explain`) written out in Markdown with
LaTeX (``markdown``), plain text (``text``) or JSON (``json``)."""
