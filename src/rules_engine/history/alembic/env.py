"""Alembic environment of the findings store. The library runs the migrations itself
(``rules_engine.history.store``), handing over its connection; no ``alembic.ini`` is needed."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "由 rules_engine.history 运行迁移 the migrations are run by rules_engine.history (the store upgrades "
        "itself on first use)"
    )
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
