"""Pure functions from engine results to text: worked solutions in Markdown/LaTeX and plain text."""
