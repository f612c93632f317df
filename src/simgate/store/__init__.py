"""Tables, migrations, engine and queries."""
