"""Alembic environment of the findings store. The library runs the migrations itself
(``rules_engine.history.store``), handing over its connection; no ``alembic.ini`` is needed."""

from __future__ import annotations

from alembic import context

from rules_engine.texts import message

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(message("history.migrations.direct"))
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
