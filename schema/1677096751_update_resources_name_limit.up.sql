-- Names may be as long as a DNS subdomain (Kubernetes object names): 253 characters.
ALTER TABLE resources ALTER COLUMN name TYPE varchar(253);
