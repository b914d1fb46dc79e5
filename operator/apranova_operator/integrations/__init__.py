"""Optional integrations with outside services: a Discord invite and a GitHub repository."""
