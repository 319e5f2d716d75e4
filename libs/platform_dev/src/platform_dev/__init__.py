"""Atrium's development and test kit: embedded servers, the local runner, the pytest plugin."""
