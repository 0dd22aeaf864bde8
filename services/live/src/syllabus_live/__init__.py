"""Syllabus live: each signed-in person's server-sent event stream (``GET /api/v1/me/stream``)."""
