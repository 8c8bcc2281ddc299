"""Operator tooling: template checks before a deploy, and the smoke test after one."""
