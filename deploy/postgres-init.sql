-- Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
-- One database per service: services never read each other's tables. Each service creates
-- its own tables (migrations run at start).
CREATE DATABASE registry;
CREATE DATABASE activity;
CREATE DATABASE matching;
CREATE DATABASE followup;
CREATE DATABASE insights;
