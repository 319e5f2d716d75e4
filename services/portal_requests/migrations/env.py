from platform_core.migrations import run_env

run_env()
