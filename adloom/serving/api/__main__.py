"""``python -m adloom.serving.api openapi`` prints the OpenAPI document (what docs/openapi.json holds)."""

from __future__ import annotations

import sys

from adloom.serving.api.app import openapi_json


def main(argv: list[str]) -> int:
    if argv != ["openapi"]:
        print("usage: python -m adloom.serving.api openapi > docs/openapi.json", file=sys.stderr)
        return 2
    sys.stdout.write(openapi_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
