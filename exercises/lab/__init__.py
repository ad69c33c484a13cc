"""lab: check, hint, solve and reset the steps of the exercise pages (see exercises/README.md)."""
