-- 002_events: the event log, the stream registry and the supervisor's status. Applied by
-- `teamboard-admin migrate` (search_path = teamboard). The triggers that fill the log and NOTIFY
-- are in sql/functions/events.sql, the viewers of a board in sql/functions/presence.sql.

-- Every committed change of a board, in commit order. seq comes from boards.last_seq under the
-- board row's lock, so seq order is commit order and a reader of "seq > N" never skips an event
-- that commits late.
CREATE TABLE board_events (
    board_id   bigint NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    type       text NOT NULL,
    actor_id   bigint,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, seq)
);
CREATE INDEX board_events_created_idx ON board_events (created_at);

-- Open streams, one row per holder (a worker holding one browser's event stream).
CREATE TABLE streams (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host        text NOT NULL,
    pid         integer NOT NULL,
    backend_pid integer NOT NULL,
    board_id    bigint NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX streams_board_idx ON streams (board_id);
CREATE INDEX streams_host_idx ON streams (host);
CREATE INDEX streams_user_idx ON streams (user_id);

-- The supervisor that holds the leader lock writes its identity here each interval.
CREATE TABLE supervisor_status (
    id         integer PRIMARY KEY CHECK (id = 1),
    host       text NOT NULL,
    pid        integer NOT NULL,
    since      timestamptz NOT NULL,
    last_run   timestamptz NOT NULL,
    report     jsonb NOT NULL DEFAULT '{}'
);

