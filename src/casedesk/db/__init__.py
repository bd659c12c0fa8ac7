"""Persistence: table mappings, engines and units of work, migrations."""
