"""An exercise handed to a student: its sheet in Markdown with LaTeX, its Jupyter notebook, and
the helpers that turn the values a student fills in into /check's ``claimed``."""
