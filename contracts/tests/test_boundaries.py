"""Boundaries between services, as checks: no service's database role can reach another
service's database. (That no service package imports another is import-linter's
contract in the root pyproject.toml, run by ``make lint``.)

The roles and databases are made by the SQL of deploy/compose/initdb/10-service-databases.sh
itself (what PostgreSQL runs in compose), with unique names on the test server.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from syllabus_devkit.testing import plugin

from conftest import ROOT, SERVICES

INITDB = ROOT / "deploy" / "compose" / "initdb" / "10-service-databases.sh"


def initdb_sql(script: Path = INITDB) -> str:
    """The per-service SQL of the initdb script (its ``<<'SQL'`` heredoc)."""
    found = re.search(r"<<'SQL'\n(.*?)\nSQL\n", script.read_text(), re.S)
    assert found, f"no <<'SQL' heredoc in {script}"
    return found.group(1)


def bind_psql_variables(text: str, variables: dict[str, str]) -> sql.Composed:
    """psql's ``:"name"`` (identifier) and ``:'name'`` (literal) interpolation."""
    parts: list[sql.Composable] = []
    position = 0
    for match in re.finditer(r":\"(\w+)\"|:'(\w+)'", text):
        parts.append(sql.SQL(text[position : match.start()]))  # type: ignore[arg-type]
        if match.group(1):
            parts.append(sql.Identifier(variables[match.group(1)]))
        else:
            parts.append(sql.Literal(variables[match.group(2)]))
        position = match.end()
    parts.append(sql.SQL(text[position:]))  # type: ignore[arg-type]
    return sql.Composed(parts)


def _connect(conninfo: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)


class Provisioned:
    def __init__(self, admin: str) -> None:
        self.admin = admin
        self.tag = f"b{uuid.uuid4().hex[:8]}"
        # Role = the service's name, database = syllabus_<service>, as in the script.
        self.roles = {s: f"{self.tag}_{s}" for s in SERVICES}
        self.passwords = {s: f"pw-{uuid.uuid4().hex}" for s in SERVICES}

    def database(self, service: str) -> str:
        return f"syllabus_{self.roles[service]}"

    def conninfo(self, service: str, database: str) -> str:
        params = conninfo_to_dict(self.admin)
        params.update(user=self.roles[service], password=self.passwords[service], dbname=database)
        return make_conninfo(**{k: v for k, v in params.items() if v is not None})

    def create(self) -> None:
        statements = [s.strip() for s in initdb_sql().split(";") if s.strip()]
        with _connect(self.admin) as conn:
            for service, role in self.roles.items():
                variables = {
                    "role": role,
                    "password": self.passwords[service],
                    "db": self.database(service),
                }
                for statement in statements:  # CREATE DATABASE cannot run in a block
                    conn.execute(bind_psql_variables(statement, variables))

    def drop(self) -> None:
        with _connect(self.admin) as conn:
            for service, role in self.roles.items():
                db = sql.Identifier(self.database(service))
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def provisioned(test_servers: plugin.TestServers) -> Iterator[Provisioned]:
    p = Provisioned(test_servers.admin_conninfo())
    p.create()
    try:
        yield p
    finally:
        p.drop()


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_role_uses_its_own_database(provisioned: Provisioned, service: str) -> None:
    with _connect(provisioned.conninfo(service, provisioned.database(service))) as conn:
        conn.execute("CREATE TABLE boundary_probe (id int)")
        conn.execute("INSERT INTO boundary_probe VALUES (1)")
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, False), "a service role must not be privileged"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_role_cannot_connect_to_another_services_database(
    provisioned: Provisioned, service: str
) -> None:
    for other in SERVICES:
        if other == service:
            continue
        with pytest.raises(psycopg.OperationalError) as refused:
            _connect(provisioned.conninfo(service, provisioned.database(other))).close()
        assert "permission denied for database" in str(refused.value), (
            f"role {service} reached {other}'s database: {refused.value}"
        )


def test_the_script_revokes_public_access() -> None:
    text = initdb_sql()
    assert 'REVOKE ALL ON DATABASE :"db" FROM PUBLIC' in text
    assert 'CREATE DATABASE :"db" OWNER :"role"' in text
