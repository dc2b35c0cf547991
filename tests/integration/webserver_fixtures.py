"""Fixtures for Apache, nginx and the test backends (filled in by the web-server work)."""
