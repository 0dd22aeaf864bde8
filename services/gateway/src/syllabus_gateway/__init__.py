"""Syllabus gateway: Caddy in front (rendered from routes.toml), a small sidecar behind it.

The sidecar serves ``/openapi.json`` (every service's public API merged into one document),
``/docs`` and ``/readyz`` (ready when every service is).
"""
