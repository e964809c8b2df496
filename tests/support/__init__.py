"""Helpers shared by every test layer: tool lookup, servers, PostgreSQL."""
