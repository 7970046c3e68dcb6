-- login: sign-in throttling over the table login_throttle (012_login_throttle.sql, which says
-- what a row counts). After p_max failures within the window, POST /sessions answers 429 until
-- blocked_until: 60 s at the limit, doubling with each failure past it, at most 900 s.

-- One sign-in attempt, before its password is checked. Returns 0 when it may go ahead: it is
-- then counted as a failure already (login_succeeded takes it back), so concurrent guesses get no
-- more than p_max checks between them. Otherwise the seconds until the later block of the two
-- ends; a throttled attempt does not count. Both rows are locked account first, then address (as
-- login_succeeded does), so two attempts never deadlock. A window runs from its first failure, or
-- from the end of its last block, for p_window seconds; after that the count starts again.
CREATE OR REPLACE FUNCTION login_attempt(p_account text, p_address text, p_max integer, p_window integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    wait double precision;
BEGIN
    INSERT INTO login_throttle (kind, key) VALUES ('account', p_account), ('address', p_address)
        ON CONFLICT DO NOTHING;
    PERFORM 1 FROM login_throttle
      WHERE (kind, key) IN (('account', p_account), ('address', p_address))
      ORDER BY kind, key FOR UPDATE;
    UPDATE login_throttle SET failures = 0, window_start = now(), blocked_until = NULL
     WHERE (kind, key) IN (('account', p_account), ('address', p_address))
       AND greatest(window_start, blocked_until) <= now() - make_interval(secs => p_window);
    SELECT extract(epoch FROM max(blocked_until) - now()) INTO wait FROM login_throttle
     WHERE (kind, key) IN (('account', p_account), ('address', p_address)) AND blocked_until > now();
    IF wait IS NOT NULL THEN
        RETURN greatest(ceil(wait), 1)::integer;
    END IF;
    UPDATE login_throttle
       SET failures = failures + 1,
           blocked_until = CASE WHEN failures + 1 >= p_max
                                THEN now() + make_interval(secs => least(900, 60 * 2 ^ least(failures + 1 - p_max, 10)))
                           END
     WHERE (kind, key) IN (('account', p_account), ('address', p_address));
    RETURN 0;
END
$$;

-- The attempt signed in: the account starts again from zero; the address's own count loses the
-- failure login_attempt counted in advance (and any block that set: the next failure sets it
-- again), so many people signing in from one address never throttle it.
CREATE OR REPLACE FUNCTION login_succeeded(p_account text, p_address text) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM login_throttle WHERE kind = 'account' AND key = p_account;
    UPDATE login_throttle SET failures = greatest(failures - 1, 0), blocked_until = NULL
     WHERE kind = 'address' AND key = p_address;
$$;
