-- The change announcement carries only the key of the row ({"action", "data": {name, mesh, type}}),
-- which keeps it far below the 8000-byte limit of a NOTIFY payload.
CREATE OR REPLACE FUNCTION notify_event() RETURNS trigger AS $$
DECLARE
    changed json;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := json_build_object('name', OLD.name, 'mesh', OLD.mesh, 'type', OLD.type);
    ELSE
        changed := json_build_object('name', NEW.name, 'mesh', NEW.mesh, 'type', NEW.type);
    END IF;
    PERFORM pg_notify('resource_events', json_build_object('action', TG_OP, 'data', changed)::text);
    RETURN NULL;  -- the result of an AFTER trigger is not used
END;
$$ LANGUAGE plpgsql;
