"""`adloom live …`: digital-human live rooms (start, stop, status, say, comment)."""

from __future__ import annotations

import typer

live_app = typer.Typer(help="Digital-human live-commerce rooms.", no_args_is_help=True)
