-- Checkpoints, stored content-addressed so storage grows linearly with the run.
-- Each distinct JSON value (a message, an input, an agent config, a finished span's output)
-- is stored once per trace in blobs, keyed by a 16-byte BLAKE2b hash of its canonical JSON.
-- A checkpoint's state is a few single values (span, agent, input) and a few lists of hashes
-- (messages, input_messages, completed); each list is stored as "the first `keep` entries of
-- an earlier checkpoint's list, then `added`", so a checkpoint holds only what is new. The
-- earlier list is chosen like a Fenwick tree, which keeps every chain O(log n) links long.
-- See docs/checkpoints.md.
--
-- One `auto` run writes thousands of rows at once, so per-row checks are kept to those that
-- matter: blobs hold `json` (the canonical text, stored as it was hashed: no jsonb parsing
-- and re-serialising on the way in and out); they go with their trace through a statement
-- trigger rather than a foreign key checked on every row; a list's base is kept valid by the
-- code, which writes and deletes checkpoints of a trace only under the trace's lock.
CREATE TABLE {schema}.blobs (
    trace_id  text COLLATE "C" NOT NULL,
    hash      bytea NOT NULL,
    value     json NOT NULL,
    PRIMARY KEY (trace_id, hash)
);

CREATE FUNCTION {schema}.delete_trace_blobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {schema}.blobs b USING gone WHERE b.trace_id = gone.trace_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER traces_delete_blobs AFTER DELETE ON {schema}.traces
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION {schema}.delete_trace_blobs();

CREATE TABLE {schema}.checkpoints (
    checkpoint_id     text COLLATE "C" PRIMARY KEY,
    trace_id          text COLLATE "C" NOT NULL REFERENCES {schema}.traces (trace_id) ON DELETE CASCADE,
    span_id           text COLLATE "C" NOT NULL,
    step              integer NOT NULL,
    name              text,
    auto              boolean NOT NULL DEFAULT false,
    span_kind         text,
    span_name         text,
    agent_id          text,
    span_hash         bytea NOT NULL,  -- blob: the span's position and description
    agent_hash        bytea NOT NULL,  -- blob: the agent's config (or null)
    input_hash        bytea NOT NULL,  -- blob: the span's input, without its messages list
    created_at        timestamptz NOT NULL DEFAULT now(),
    replay_count      integer NOT NULL DEFAULT 0,
    last_replayed_at  timestamptz,
    UNIQUE (trace_id, span_id)
);
CREATE INDEX checkpoints_trace_step_idx ON {schema}.checkpoints (trace_id, step);

CREATE TABLE {schema}.checkpoint_lists (
    checkpoint_id       text COLLATE "C" NOT NULL REFERENCES {schema}.checkpoints (checkpoint_id) ON DELETE CASCADE,
    list                text NOT NULL,
    base_checkpoint_id  text COLLATE "C",  -- the base list (another row of this table), or null
    base_list           text,
    keep                integer NOT NULL DEFAULT 0,
    added               bytea NOT NULL,  -- concatenated 16-byte hashes
    pos                 integer NOT NULL DEFAULT 0,  -- place in its chain of predecessors
    PRIMARY KEY (checkpoint_id, list)
);
