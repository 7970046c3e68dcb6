-- teams: what a team keeps true whatever writes to it.

-- A team keeps at least one admin. The team row is locked first, so two concurrent demotions
-- are serialised and the second one sees the first (READ COMMITTED takes a new snapshot per query).
CREATE OR REPLACE FUNCTION team_keeps_admin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.role = 'admin' AND (TG_OP = 'DELETE' OR NEW.role <> 'admin') THEN
        PERFORM 1 FROM teams WHERE id = OLD.team_id FOR UPDATE;
        IF FOUND AND NOT EXISTS (SELECT 1 FROM team_members
                                  WHERE team_id = OLD.team_id AND role = 'admin') THEN
            RAISE EXCEPTION 'team % would have no admin', OLD.team_id USING ERRCODE = 'TB409';
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER team_members_keep_admin AFTER UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION team_keeps_admin();
