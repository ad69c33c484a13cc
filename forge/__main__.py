"""`python -m forge`: the same as the `forge` command."""

from forge.cli import main

main(prog_name="forge")
