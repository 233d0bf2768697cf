-- Labels of a resource, as a JSON object; existing rows start with none.
ALTER TABLE resources ADD COLUMN labels jsonb DEFAULT '{}'::jsonb;
