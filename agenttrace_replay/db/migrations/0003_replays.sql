-- Replays: every re-execution from a checkpoint, kept whether it succeeded, failed or timed out.
CREATE TABLE {schema}.replays (
    replay_id        text COLLATE "C" PRIMARY KEY,
    checkpoint_id    text COLLATE "C" NOT NULL REFERENCES {schema}.checkpoints (checkpoint_id) ON DELETE CASCADE,
    trace_id         text COLLATE "C" NOT NULL REFERENCES {schema}.traces (trace_id) ON DELETE CASCADE,
    executor         text NOT NULL,
    config           jsonb NOT NULL DEFAULT '{}',
    input            jsonb,
    original_output  jsonb,
    replay_output    jsonb,
    diff             jsonb,
    success          boolean NOT NULL,
    error            text,
    executed         boolean NOT NULL DEFAULT true,
    note             text,
    duration_ms      double precision NOT NULL,
    tokens_used      integer,
    cost_usd         double precision,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX replays_trace_idx ON {schema}.replays (trace_id, created_at);
CREATE INDEX replays_checkpoint_idx ON {schema}.replays (checkpoint_id);
