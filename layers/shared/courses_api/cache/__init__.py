"""Two-tier cache: an in-process near cache in front of Redis (ElastiCache Serverless).

Services depend only on :mod:`courses_api.cache.api`; containers build the cache with
:func:`courses_api.cache.config.build_cache`. Nothing is re-exported here, so importing the
contract loads neither the manager nor redis-py.
"""
