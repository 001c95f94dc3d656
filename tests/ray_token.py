"""One Ray auth token per test process: Ray reads the token once per process, so a second local instance
started with another token in the same pytest run is refused (seen: the worker's Ray test after the executors')."""

import secrets

RAY_TEST_TOKEN = secrets.token_hex(16)
