"""What the dashboard and the API share: settings, engine, models, queries, seed, migrations."""
