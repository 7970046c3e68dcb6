-- links: public read-only links to a board (021_public_links.sql; docs/api.md, "Public links").
-- A guest reads the board and follows its events through a link; what a guest sees is written here
-- once: the board without its team and owner, and every event without a login name (a login name is
-- half of a credential): people are shown by display name only (user_display, common.sql).

-- The board as a guest sees it: board_json without team_id and owner_id, role "guest", and the
-- notes' authors by display name ("authors": [{id, display_name}], board_author_names).
CREATE OR REPLACE FUNCTION public_board_json(b boards) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT board_json(b, 'guest') - 'team_id' - 'owner_id'
           || jsonb_build_object('authors', board_author_names(b.id))
$$;

-- An event as a guest sees it (event_json's shape): the actor by id and display name, a member.* event without
-- its member (whose login name it carries): a guest learns that the team changed, not how, and a
-- board.* event's board without team_id and owner_id, as public_board_json. Every other payload
-- names no user (notes carry author_id only).
CREATE OR REPLACE FUNCTION public_event_json(p_board bigint, p_seq bigint, p_type text, p_actor bigint,
                                             p_at timestamptz, p_payload jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('seq', p_seq, 'type', p_type, 'board_id', p_board, 'at', p_at,
                              'actor', (SELECT jsonb_build_object('id', u.id, 'display_name', u.display_name)
                                          FROM users u WHERE u.id = p_actor))
           || CASE WHEN p_type LIKE 'member.%' THEN '{}'::jsonb
                   ELSE p_payload #- '{board,team_id}' #- '{board,owner_id}' END
$$;

-- The link of a token's hash whose board is live (not in the trash): (link id, board id), or no row.
CREATE OR REPLACE FUNCTION board_link(p_token_hash bytea, OUT link_id bigint, OUT board_id bigint)
RETURNS SETOF record
LANGUAGE sql STABLE AS $$
    SELECT l.id, l.board_id FROM board_links l JOIN boards b ON b.id = l.board_id AND b.deleted_at IS NULL
     WHERE l.token_hash = p_token_hash
$$;

-- A deleted link ends its guests' streams at once: a heartbeat NOTIFY on the board's channel makes
-- every stream of the board check its access as at a supervisor heartbeat (lib/tb_stream.c), and a
-- guest whose link is gone gets revoked {"reason":"link_deleted"}. Nothing is sent when no guest
-- of the link has a stream open, nor for the links of a board being deleted (its streams hear
-- board.deleted).
CREATE OR REPLACE FUNCTION board_links_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM streams s WHERE s.link_id = OLD.id) THEN
        PERFORM pg_notify(board_channel(OLD.board_id), '{"type":"hb"}');
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER board_links_deleted AFTER DELETE ON board_links
    FOR EACH ROW EXECUTE FUNCTION board_links_deleted();
