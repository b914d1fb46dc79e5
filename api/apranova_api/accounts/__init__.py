"""Student accounts: welcome email, passwords, sessions, status, progress, GDPR, forward-auth."""
