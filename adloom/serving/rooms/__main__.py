"""``python -m adloom.serving.rooms run ROOM.yaml [STATE_DIR]``: the room process ``adloom live start`` launches.

Its log goes to the state folder's rotating ``room.log`` (stream keys masked); only what escapes
logging (an interpreter crash) reaches stdout/stderr, which ``start`` sends to ``room.out``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from adloom.core.errors import AdloomError, InputError
from adloom.core.redact import redact
from adloom.serving.rooms.control import run_room

log = logging.getLogger("adloom.serving.rooms")


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "run":
        print("usage: python -m adloom.serving.rooms run ROOM.yaml [STATE_DIR]", file=sys.stderr)
        return 2
    try:
        run_room(Path(argv[1]), state_dir=Path(argv[2]) if len(argv) > 2 else None, log_to_console=False)
    except AdloomError as exc:
        message = redact(str(exc))
        log.error("room stopped: %s", message)
        print(f"error: {message}", file=sys.stderr)
        return 2 if isinstance(exc, InputError) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
