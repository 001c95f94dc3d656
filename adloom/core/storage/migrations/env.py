"""Alembic environment: runs on the connection that :mod:`adloom.core.storage.db` passes in."""

from alembic import context

from adloom.core.storage.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # invoked from the alembic CLI with a URL in the config
    from sqlalchemy import create_engine

    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: set sqlalchemy.url in alembic.ini to the adloom database URL to migrate")
    engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
