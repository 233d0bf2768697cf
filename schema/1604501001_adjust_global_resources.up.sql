-- Global resources (Mesh, Zone) are stored with an empty mesh, and so are references to them as owners.
-- The owner foreign key would reject the intermediate states, so it is dropped and then restored.
ALTER TABLE resources DROP CONSTRAINT owner_fk;

UPDATE resources SET mesh = '' WHERE type IN ('Mesh', 'Zone');
UPDATE resources SET owner_mesh = '' WHERE owner_type IN ('Mesh', 'Zone');

ALTER TABLE resources ADD CONSTRAINT owner_fk
    FOREIGN KEY (owner_name, owner_mesh, owner_type) REFERENCES resources (name, mesh, type)
    ON DELETE CASCADE;
