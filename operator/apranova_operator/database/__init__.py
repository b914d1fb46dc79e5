"""Per-student PostgreSQL schemas: settings, plan, credentials, the admin adapter and the step."""
