"""Test support shared by every unit's tests (a pytest plugin: platform_dev.testing.plugin)."""
