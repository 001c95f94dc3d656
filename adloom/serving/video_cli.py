"""`adloom video …`: generate clips with the DiT/VAE stack, train, and the toy-world demo."""

from __future__ import annotations

import typer

video_app = typer.Typer(help="Generated video shots: DiT/VAE models, training, the toy-world demo.", no_args_is_help=True)
