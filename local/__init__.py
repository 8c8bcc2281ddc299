"""Local stand-ins for AWS: moto over HTTP, tables from template.yaml, a redis-server."""
