"""What the tests share, in one place: the tests import this package, not the dev server.

- ``functions``: load a function of the template as a fresh container and call it in-process;
- ``events``: API Gateway events from ``events/*.json`` and Cognito claims;
- ``data``: stored rows for arranging a test;
- ``services``: moto's server with the template's tables, a real redis-server, free ports,
  local bearer tokens.
"""
