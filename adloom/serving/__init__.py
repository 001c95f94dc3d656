"""The application: pipelines wiring the domains together, jobs, API and the CLI."""
