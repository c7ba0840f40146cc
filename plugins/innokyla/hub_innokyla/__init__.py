"""Innokylä: the practice-model catalogue and the indicators published for each model."""
