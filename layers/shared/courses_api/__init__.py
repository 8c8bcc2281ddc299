"""Shared layer of the Courses API, in packages by role with dependencies pointing one way.

``http`` (the API Gateway adapter) calls ``domain`` (services), which calls ``data``
(DynamoDB repositories) and ``cache``; all of them use ``models``, ``errors``, ``settings``
and ``observability``. ``container`` wires them together. The order is an import-linter
contract in ``pyproject.toml``.
"""
