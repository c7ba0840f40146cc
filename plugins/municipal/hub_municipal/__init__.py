"""Adapter and sandbox for municipal."""
