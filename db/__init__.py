"""The lineage database: SQLAlchemy 2 models, sessions, repository functions, migrations."""
