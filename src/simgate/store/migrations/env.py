from alembic import context

from simgate.store.tables import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.dbapi_connection  # no transaction begun yet
    if sqlite:
        # Batch mode rebuilds a table (copy, DROP, rename); with foreign keys
        # enforced, dropping a table that other rows reference fails, so any
        # store with data made before such a migration could not upgrade. As
        # SQLite's ALTER TABLE guide says: off for the migration (it is a no-op
        # inside a transaction, hence before), checked at the end, on again.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migrations left rows without their parent: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite:
            if connection.in_transaction():  # a failed migration: the pragma needs none open
                connection.rollback()
            raw.execute("PRAGMA foreign_keys=ON")
