-- Status of a resource, stored apart from its spec, as a JSON object; existing rows start empty.
ALTER TABLE resources ADD COLUMN status jsonb NOT NULL DEFAULT '{}'::jsonb;
