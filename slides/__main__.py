"""python -m slides build [--out DIR] | pdf [--out DIR] | serve [--port N] [--out DIR]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from slides.build import DEFAULT_OUT, ROOT, build, pdf
from slides.deck import DeckError
from slides.serve import serve
from versions_env import VersionsError


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m slides", description="Build or serve the workshop deck.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build the deck to static offline HTML")
    pdf_cmd = commands.add_parser("pdf", help="build the deck, then print it to deck.pdf with headless Chromium")
    serve_cmd = commands.add_parser("serve", help="serve the built deck on 127.0.0.1 and print its URL")
    serve_cmd.add_argument("--port", type=int, default=8000, help="port (0: any free port; default 8000)")
    for command in (build_cmd, pdf_cmd, serve_cmd):
        command.add_argument("--out", type=Path, default=DEFAULT_OUT, help="build directory (default slides/build)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(ROOT, args.out.resolve() / "index.html", args.port)
        return 0
    try:
        deck = build(args.out)
        print(f"slides: {deck.slides} slides, {deck.minutes:g} min of speaker-note timings -> {args.out}/index.html")
        if args.command == "pdf":
            print(f"slides: {pdf(args.out)}")
    except (DeckError, VersionsError) as err:  # VersionsError: a bad versions.env line
        print(f"slides: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
