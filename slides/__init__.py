"""The workshop's slide deck: Markdown fragments built into static offline HTML (see README.md)."""
