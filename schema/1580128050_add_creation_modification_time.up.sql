-- Timestamps of the row; rows that already exist get the time of this migration.
ALTER TABLE resources ADD COLUMN creation_time timestamp NOT NULL DEFAULT now();
ALTER TABLE resources ADD COLUMN modification_time timestamp NOT NULL DEFAULT now();
