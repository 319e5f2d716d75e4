"""Test support shared by every unit's tests (a pytest plugin: platform_core.testing.plugin)."""
