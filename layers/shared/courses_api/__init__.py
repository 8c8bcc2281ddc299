"""Shared layer of the Courses API: settings, models, data access, cache, auth and errors."""
