"""The workshop's exercise pages (Markdown) and `lab`, the runner that checks, hints, solves and resets them."""
