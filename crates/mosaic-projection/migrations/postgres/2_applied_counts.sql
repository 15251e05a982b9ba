-- On the `context:<name>` rows: how many events of that context the projection has applied live,
-- each once. Compared with the source's count of the events the projection wants, it shows a
-- read model that missed an event. NULL: not counted yet (rows from before this column); the
-- runner's first audit fills it in.
ALTER TABLE projection_checkpoints ADD COLUMN applied BIGINT;
