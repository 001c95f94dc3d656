"""Storage: SQLAlchemy 2 tables, Alembic migrations, and small repositories.

SQLite file by default; any SQLAlchemy URL works (PostgreSQL in production).
:func:`open_store` migrates the database to the newest revision before use.
"""

from adloom.core.storage.db import Store, open_store

__all__ = ["Store", "open_store"]
