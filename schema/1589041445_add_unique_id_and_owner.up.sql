-- The namespace leaves the key (and the table); resources get an owner, and lose their rows with it.
ALTER TABLE resources DROP CONSTRAINT resources_pkey;
ALTER TABLE resources ADD CONSTRAINT resources_pkey PRIMARY KEY (name, mesh, type);
ALTER TABLE resources DROP COLUMN namespace;
ALTER TABLE resources ADD COLUMN owner_name varchar(100);
ALTER TABLE resources ADD COLUMN owner_mesh varchar(100);
ALTER TABLE resources ADD COLUMN owner_type varchar(100);
ALTER TABLE resources ADD CONSTRAINT owner_fk
    FOREIGN KEY (owner_name, owner_mesh, owner_type) REFERENCES resources (name, mesh, type)
    ON DELETE CASCADE;

-- Dataplane insights are rebuilt by the control plane; drop them rather than give them an owner.
DELETE FROM resources WHERE type = 'DataplaneInsight';

-- Every resource other than a Mesh is now owned by the Mesh it lives in.
UPDATE resources AS child
   SET owner_name = parent.name,
       owner_mesh = parent.mesh,
       owner_type = 'Mesh'
  FROM resources AS parent
 WHERE parent.type = 'Mesh'
   AND parent.name = child.mesh
   AND child.type <> 'Mesh';

-- What found no Mesh to belong to is an orphan: remove it.
DELETE FROM resources
 WHERE type <> 'Mesh'
   AND owner_name IS NULL
   AND owner_mesh IS NULL
   AND owner_type IS NULL;
