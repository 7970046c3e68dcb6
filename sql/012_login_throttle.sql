-- 012_login_throttle: sign-in throttling. One row per account (its lower-cased name, whether or
-- not such a user exists, so a 429 tells nothing about which names are taken) and per client
-- address (REMOTE_ADDR; an IPv6 address by its /64) counts failed sign-ins. After p_max of them
-- within the window, POST /sessions answers 429 until blocked_until: 60 s at the limit, doubling
-- with each failure past it, at most 900 s. The rows are in the database so that every web host
-- shares them; the supervisor deletes rows whose window and block both ran out.
CREATE TABLE login_throttle (
    kind          text        NOT NULL CHECK (kind IN ('account', 'address')),
    key           text        NOT NULL CHECK (octet_length(key) <= 200),
    failures      integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start  timestamptz NOT NULL DEFAULT now(),
    blocked_until timestamptz,
    PRIMARY KEY (kind, key)
);

-- The supervisor's retention: greatest() skips a NULL blocked_until.
CREATE INDEX login_throttle_expiry ON login_throttle (greatest(window_start, blocked_until));

-- login_attempt and login_succeeded: sql/functions/login.sql.
