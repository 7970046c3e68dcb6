-- 025_stream_host: the stream host's rows in the registry (issue 13; docs/design.md, "Stream host").
--
-- A stream host (teamboard-streamhost) holds many streams in one process. Its rows differ from a
-- worker's in three ways the supervisor and the limits need to know:
--   in_host       the row is a host's stream. Its backend_pid is the host's pool connection,
--                 shared by all of the process's streams: recycling such a row only deletes it
--                 (the host ends the stream at its next heartbeat, lib/tb_host.c), it never
--                 terminates that backend.
--   address       the client's address (REMOTE_ADDR), for max_streams_per_address: a host's
--                 streams are not in the shared-memory table of held workers, which counts it for
--                 workers. NULL in a worker's row.
--   session_hash  sha256 of the session token the stream lives on (the same hash as
--                 sessions.token_hash, no secret): the host's one heartbeat statement per process
--                 tells every stream whether its session lasts without sending the tokens.
--                 NULL in a worker's row.
ALTER TABLE streams ADD COLUMN in_host boolean NOT NULL DEFAULT false;
ALTER TABLE streams ADD COLUMN address text CHECK (length(address) <= 64);
ALTER TABLE streams ADD COLUMN session_hash bytea CHECK (length(session_hash) = 32);
-- The heartbeat's UPDATE and the cleaning of a process's rows select by host and pid.
CREATE INDEX streams_host_pid_idx ON streams (host, pid);
