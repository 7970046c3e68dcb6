-- runtime_role: the runtime role's privileges (013_runtime_role.sql introduced the two roles). Teamboard's database has two roles
-- (docs/operations.md, "Database roles"): the owner owns the schema and everything in it and runs
-- `teamboard-admin migrate`; the runtime role (teamboard.fcgi, the stream pool,
-- teamboard-supervisor) owns nothing and may only read and write rows and call the functions: it
-- cannot create, alter, drop or truncate anything, so a hole in a worker cannot change the schema,
-- the functions the triggers run, or who may do what.
--
-- grant_runtime(role) sets the runtime role's privileges from scratch. `teamboard-admin migrate`
-- calls it at the end of every run, in the run's one transaction, after the numbered migrations and
-- the functions: the tables and functions of later migrations are covered without a word here,
-- and a function dropped and made again (a new signature) gets its EXECUTE back.
--
-- Table by table: every table gets SELECT, INSERT, UPDATE, DELETE (the API writes each of them, and
-- SELECT ... FOR SHARE/UPDATE needs UPDATE), but for
--   schema_migrations  nothing: migrate's bookkeeping is the owner's alone;
--   board_events       no UPDATE: the log is appended to (record_event) and pruned (the supervisor's
--                      DELETE), never rewritten.
-- Sequences: USAGE. Functions: EXECUTE, but not this one. Nothing for PUBLIC. The database: CONNECT;
-- CREATE and TEMPORARY are revoked from PUBLIC when the owner owns the database (a temporary table
-- could shadow a table of the search_path for the session that makes it).
--
-- It refuses (and so the run fails and is rolled back) a runtime role that could undo all this: a superuser, one
-- that may create roles or databases, bypass row security or replicate, one with the owner's rights,
-- one that owns anything in the database, or one that may still create objects somewhere in it. And
-- it refuses a SECURITY DEFINER function of the schema whose search_path is not fixed and ends in
-- pg_temp: such a function runs with the owner's rights, and the caller's search_path must not
-- choose what it calls.
CREATE OR REPLACE FUNCTION grant_runtime(p_role name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_role   oid := (SELECT oid FROM pg_roles WHERE rolname = p_role);
    v_schema oid := (SELECT oid FROM pg_namespace WHERE nspname = 'teamboard');
    v_db     oid := (SELECT oid FROM pg_database WHERE datname = current_database());
    v_bad    text;
BEGIN
    IF v_role IS NULL THEN
        RAISE EXCEPTION 'runtime role "%" does not exist', p_role
            USING HINT = 'Create it first: CREATE ROLE ... LOGIN (docs/deploy.md).';
    END IF;
    SELECT string_agg(a, ', ') INTO v_bad FROM pg_roles r,
           LATERAL unnest(ARRAY[CASE WHEN r.rolsuper THEN 'SUPERUSER' END,
                                CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
                                CASE WHEN r.rolcreatedb THEN 'CREATEDB' END,
                                CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
                                CASE WHEN r.rolreplication THEN 'REPLICATION' END]) a
     WHERE r.oid = v_role;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'runtime role "%" has %', p_role, v_bad
            USING HINT = format('ALTER ROLE %I NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS NOREPLICATION',
                                p_role);
    END IF;
    IF pg_has_role(v_role, (SELECT nspowner FROM pg_namespace WHERE oid = v_schema), 'MEMBER') THEN
        RAISE EXCEPTION 'runtime role "%" is, or is a member of, the owner of schema teamboard', p_role
            USING HINT = 'The runtime role must be a role of its own, not a member of the owner.';
    END IF;
    SELECT string_agg(pg_describe_object(d.classid, d.objid, d.objsubid), ', '
                      ORDER BY pg_describe_object(d.classid, d.objid, d.objsubid)) INTO v_bad
      FROM pg_shdepend d
     WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = v_role AND d.deptype = 'o'
       AND (d.dbid = v_db OR (d.classid = 'pg_database'::regclass AND d.objid = v_db));
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'runtime role "%" owns %', p_role, v_bad
            USING HINT = format('As a superuser, in this database: REASSIGN OWNED BY %I TO %I',
                                p_role, current_user);
    END IF;
    SELECT string_agg(p.oid::regprocedure::text, ', ') INTO v_bad
      FROM pg_proc p
     WHERE p.pronamespace = v_schema AND p.prosecdef
       AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c ~ '^search_path=.*\mpg_temp$');
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'SECURITY DEFINER function without a fixed search_path: %', v_bad
            USING HINT = 'Give it SET search_path = teamboard, pg_temp.';
    END IF;

    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA teamboard FROM PUBLIC, %I', p_role);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA teamboard FROM PUBLIC, %I', p_role);
    EXECUTE format('REVOKE ALL ON ALL ROUTINES IN SCHEMA teamboard FROM PUBLIC, %I', p_role);
    EXECUTE format('REVOKE ALL ON SCHEMA teamboard FROM PUBLIC, %I', p_role);
    EXECUTE format('GRANT USAGE ON SCHEMA teamboard TO %I', p_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA teamboard TO %I', p_role);
    EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA teamboard TO %I', p_role);
    EXECUTE format('GRANT EXECUTE ON ALL ROUTINES IN SCHEMA teamboard TO %I', p_role);
    EXECUTE format('REVOKE ALL ON TABLE teamboard.schema_migrations FROM %I', p_role);
    EXECUTE format('REVOKE UPDATE ON TABLE teamboard.board_events FROM %I', p_role);
    EXECUTE format('REVOKE ALL ON FUNCTION teamboard.grant_runtime(name) FROM %I', p_role);

    IF pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE oid = v_db), 'USAGE') THEN
        EXECUTE format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC, %I', current_database(), p_role);
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), p_role);
    END IF;
    -- PostgreSQL 15 no longer lets PUBLIC create in schema public; older versions did.
    FOR v_bad IN SELECT n.nspname FROM pg_namespace n
                  WHERE has_schema_privilege(v_role, n.oid, 'CREATE')
                    AND pg_has_role(current_user, n.nspowner, 'USAGE') LOOP
        EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC, %I', v_bad, p_role);
    END LOOP;
    SELECT string_agg(x, ', ') INTO v_bad FROM (
        SELECT 'database ' || quote_ident(current_database()) AS x
         WHERE has_database_privilege(v_role, v_db, 'CREATE')
        UNION ALL
        SELECT 'schema ' || quote_ident(n.nspname) FROM pg_namespace n
         WHERE has_schema_privilege(v_role, n.oid, 'CREATE')) c;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'runtime role "%" may create objects in %', p_role, v_bad
            USING HINT = 'As a superuser: REVOKE CREATE ON SCHEMA ... FROM PUBLIC (and from the role).';
    END IF;
END
$$;
