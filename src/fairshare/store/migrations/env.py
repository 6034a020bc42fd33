"""Alembic's entry point: migrations run on the engine ``store.db.upgrade`` hands over.

Several server processes may start at once on one new database (a deployment starts them
together) and each migrates it. On PostgreSQL a transaction-scoped advisory lock makes them
take turns: the first creates the tables, the others then find the database at head. SQLite's
BEGIN IMMEDIATE (store/db.py) already serialises them.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from fairshare.store.schema import metadata

#: Any fixed number: the lock's name, shared by every fairshare process migrating a database.
MIGRATION_LOCK = 4_207_170_001

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
