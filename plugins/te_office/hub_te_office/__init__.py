"""Adapter and sandbox for te_office."""
