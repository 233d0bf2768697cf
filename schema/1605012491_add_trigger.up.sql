-- Every change to a resource row is announced on the resource_events channel, with the whole row.
CREATE OR REPLACE FUNCTION notify_event() RETURNS trigger AS $$
DECLARE
    changed json;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := row_to_json(OLD);
    ELSE
        changed := row_to_json(NEW);
    END IF;
    PERFORM pg_notify(
        'resource_events',
        json_build_object('table', TG_TABLE_NAME, 'action', TG_OP, 'data', changed)::text
    );
    RETURN NULL;  -- the result of an AFTER trigger is not used
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER products_notify_event
    AFTER INSERT OR UPDATE OR DELETE ON resources
    FOR EACH ROW EXECUTE PROCEDURE notify_event();
