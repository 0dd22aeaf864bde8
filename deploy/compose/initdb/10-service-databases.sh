#!/usr/bin/env bash
# Run once by the official postgres image on an empty data directory
# (/docker-entrypoint-initdb.d). One role and one database per service, the role owning
# its database, and CONNECT revoked from PUBLIC: a service's role can reach its own
# database only, never another service's.
#
# SYLLABUS_DATABASES: the services, e.g. "identity catalog content progress assessment";
# <SERVICE>_DB_PASSWORD: each role's password (e.g. CATALOG_DB_PASSWORD).
# Role = the service's name; database = syllabus_<service>.
set -euo pipefail

for service in ${SYLLABUS_DATABASES:?SYLLABUS_DATABASES is not set}; do
    password_var="${service^^}_DB_PASSWORD"
    password="${!password_var:?${password_var} is not set}"
    psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v role="$service" -v password="$password" -v db="syllabus_${service}" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
SQL
    echo "initdb: role ${service} owns database syllabus_${service}"
done

# The maintenance database is for the superuser only.
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -c 'REVOKE CONNECT ON DATABASE postgres FROM PUBLIC'
