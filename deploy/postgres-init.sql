-- Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
-- One database per service: services never read each other's tables. Each service creates
-- its own tables (migrations run at start).
--
-- The C collation compares the services' keys (municipality codes, ids, idempotency keys,
-- districts, skill tags) byte by byte instead of through the C library's locale rules, which
-- cost 12 % of PostgreSQL's CPU under en_US.utf8 (the image's default); character
-- classification stays Unicode-aware (C.UTF-8). See "PostgreSQL databases" in deploy/README.md.
CREATE DATABASE registry TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8';
CREATE DATABASE activity TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8';
CREATE DATABASE matching TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8';
CREATE DATABASE followup TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8';
CREATE DATABASE insights TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8';
