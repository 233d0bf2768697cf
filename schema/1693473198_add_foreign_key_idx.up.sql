-- Find the rows a resource owns (the cascade of a delete) without a scan of the table.
CREATE INDEX IF NOT EXISTS owner_fk_index ON resources (owner_type, owner_mesh, owner_name);
