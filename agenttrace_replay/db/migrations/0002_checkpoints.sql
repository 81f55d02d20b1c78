-- Checkpoints, stored content-addressed so storage grows linearly with the run.
-- Each distinct JSON value (a message, an input, an agent config, a finished span's output)
-- is stored once per trace in blobs, keyed by a 16-byte BLAKE2b hash of its canonical JSON.
-- A checkpoint's state is a few single values (span, agent, input) and a few lists of hashes
-- (messages, input_messages, completed); each list is stored as "the first `keep` entries of
-- an earlier checkpoint's list, then `added`", so a checkpoint holds only what is new. The
-- earlier list is chosen like a Fenwick tree, which keeps every chain O(log n) links long.
CREATE TABLE {schema}.blobs (
    hash      bytea NOT NULL,
    trace_id  text COLLATE "C" NOT NULL REFERENCES {schema}.traces (trace_id) ON DELETE CASCADE,
    value     jsonb NOT NULL,
    PRIMARY KEY (hash, trace_id)
);
CREATE INDEX blobs_trace_idx ON {schema}.blobs (trace_id);

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
    base_checkpoint_id  text COLLATE "C",
    base_list           text,
    keep                integer NOT NULL DEFAULT 0,
    added               bytea NOT NULL,  -- concatenated 16-byte hashes
    pos                 integer NOT NULL DEFAULT 0,  -- place in its chain of predecessors
    PRIMARY KEY (checkpoint_id, list),
    FOREIGN KEY (base_checkpoint_id, base_list) REFERENCES {schema}.checkpoint_lists (checkpoint_id, list)
);
CREATE INDEX checkpoint_lists_base_idx ON {schema}.checkpoint_lists (base_checkpoint_id) WHERE base_checkpoint_id IS NOT NULL;
