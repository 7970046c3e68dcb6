-- 000_fence: not a migration, a fence. A teamboard-admin from before sql/functions/ applies every
-- NNN_*.sql it has not recorded, in name order, and knows nothing of sql/functions/: it would leave
-- a new database without its functions and triggers, or an upgraded one with stale ones. Such a
-- teamboard-admin runs this file first and stops here, in this file's own transaction, before it
-- changes anything. Today's teamboard-admin never runs it (sql/README.md).
DO $$
BEGIN
    RAISE EXCEPTION 'this teamboard-admin is older than the sql/ directory it was given (functions and triggers in sql/functions/): nothing was changed'
        USING HINT = 'Run the teamboard-admin built from the same tree as this sql/ directory (make, or make install).';
END
$$;
