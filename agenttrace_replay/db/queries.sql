-- All SQL of agenttrace-replay. {schema} is replaced by the project's schema name.

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)

-- name: migration_applied
SELECT EXISTS (SELECT 1 FROM {schema}.schema_migrations WHERE version = $1)

-- name: record_migration
INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)

-- name: applied_migrations
SELECT version, name, applied_at FROM {schema}.schema_migrations ORDER BY version

-- name: delete_traces
DELETE FROM {schema}.traces WHERE trace_id = ANY($1::text[]) RETURNING trace_id

-- name: lock_stored_traces
-- The given traces that are stored, locked: a checkpoint or replay of them being written
-- (its foreign key holds a share lock on the trace) is waited for, and new ones wait.
-- In id order, as imports write: two imports locking in different orders would deadlock.
SELECT trace_id FROM {schema}.traces WHERE trace_id = ANY($1::text[]) ORDER BY trace_id FOR UPDATE

-- name: share_stored_traces
-- The given traces that are stored, held until the import commits (a delete waits, while
-- checkpoints and replays of them can still be written): a trace the import skips as already
-- stored stays there until it has said so. In id order, as lock_stored_traces.
SELECT trace_id FROM {schema}.traces WHERE trace_id = ANY($1::text[]) ORDER BY trace_id FOR KEY SHARE

-- name: work_of_traces
-- How many checkpoints and replays each of the given traces has (after the lock above).
SELECT t.trace_id,
       (SELECT count(*) FROM {schema}.checkpoints c WHERE c.trace_id = t.trace_id) AS checkpoints,
       (SELECT count(*) FROM {schema}.replays r WHERE r.trace_id = t.trace_id) AS replays
FROM {schema}.traces t WHERE t.trace_id = ANY($1::text[])

-- name: insert_trace
INSERT INTO {schema}.traces
    (trace_id, name, start_time, end_time, status, metadata, total_tokens,
     total_cost_usd, total_latency_ms, agent_count)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (trace_id) DO NOTHING
RETURNING trace_id

-- name: insert_traces
-- several at once, one array per column; those already stored are left alone
INSERT INTO {schema}.traces
    (trace_id, name, start_time, end_time, status, metadata, total_tokens,
     total_cost_usd, total_latency_ms, agent_count)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::jsonb[],
                     $7::bigint[], $8::float8[], $9::float8[], $10::integer[])
ON CONFLICT (trace_id) DO NOTHING
RETURNING trace_id

-- name: list_traces
SELECT t.trace_id, t.name, t.start_time, t.end_time, t.status, t.total_tokens,
       t.total_cost_usd, t.total_latency_ms, t.agent_count,
       (SELECT count(*) FROM {schema}.spans s WHERE s.trace_id = t.trace_id) AS span_count
FROM {schema}.traces t
WHERE ($1::text IS NULL OR t.name ILIKE '%' || $1 || '%')
  AND ($2::text IS NULL OR t.status = $2)
  AND ($3::timestamptz IS NULL OR t.start_time >= $3)
ORDER BY t.start_time DESC NULLS LAST, t.trace_id
LIMIT $4

-- name: trace_ids_matching
(SELECT trace_id FROM {schema}.traces WHERE trace_id = $1)
UNION ALL
(SELECT trace_id FROM {schema}.traces WHERE trace_id LIKE $2 AND trace_id <> $1 ORDER BY trace_id LIMIT 11)

-- name: get_trace
SELECT trace_id, name, start_time, end_time, status, metadata, total_tokens,
       total_cost_usd, total_latency_ms, agent_count, imported_at
FROM {schema}.traces WHERE trace_id = $1

-- name: trace_version
-- Which stored copy of the trace is there (a replaced trace has a new import time).
SELECT imported_at FROM {schema}.traces WHERE trace_id = $1

-- name: get_agents
SELECT agent_id, trace_id, name, role, model, framework, config
FROM {schema}.agents WHERE trace_id = $1 ORDER BY agent_id

-- name: get_spans
SELECT span_id, trace_id, parent_span_id, agent_id, name, kind, start_time, end_time,
       status, model, input_tokens, output_tokens, cost_usd, input, output, error, attributes
FROM {schema}.spans WHERE trace_id = $1
ORDER BY start_time NULLS LAST, span_id

-- name: get_traces
-- Several traces at once (trace export): the same columns and orders as the three above.
SELECT trace_id, name, start_time, end_time, status, metadata, total_tokens,
       total_cost_usd, total_latency_ms, agent_count, imported_at
FROM {schema}.traces WHERE trace_id = ANY($1::text[])

-- name: get_agents_of_traces
SELECT agent_id, trace_id, name, role, model, framework, config
FROM {schema}.agents WHERE trace_id = ANY($1::text[]) ORDER BY trace_id, agent_id

-- name: get_spans_of_traces
SELECT span_id, trace_id, parent_span_id, agent_id, name, kind, start_time, end_time,
       status, model, input_tokens, output_tokens, cost_usd, input, output, error, attributes
FROM {schema}.spans WHERE trace_id = ANY($1::text[])
ORDER BY trace_id, start_time NULLS LAST, span_id

-- name: span_ids_of_trace
SELECT span_id FROM {schema}.spans WHERE trace_id = $1

-- name: delete_trace
DELETE FROM {schema}.traces WHERE trace_id = $1 RETURNING trace_id

-- name: count_rows
SELECT (SELECT count(*) FROM {schema}.traces) AS traces,
       (SELECT count(*) FROM {schema}.spans) AS spans

-- name: lock_imports
-- Held by each import until it commits (database-wide: every schema's imports share it).
SELECT pg_advisory_xact_lock(hashtextextended('agenttrace-imports', 0))

-- name: try_lock_imports
SELECT pg_try_advisory_xact_lock(hashtextextended('agenttrace-imports', 0))

-- name: lock_trace
SELECT pg_advisory_xact_lock(hashtextextended('agenttrace:' || $1, 0))

-- name: trace_checkpoints
SELECT checkpoint_id, span_id, step FROM {schema}.checkpoints WHERE trace_id = $1 ORDER BY step

-- name: trace_checkpoint_lists
SELECT l.checkpoint_id, l.list, l.base_checkpoint_id, l.base_list, l.keep, l.added, l.pos
FROM {schema}.checkpoint_lists l
JOIN {schema}.checkpoints c ON c.checkpoint_id = l.checkpoint_id
WHERE c.trace_id = $1

-- name: known_blobs
SELECT hash FROM {schema}.blobs WHERE trace_id = $1 AND hash = ANY($2::bytea[])

-- name: update_checkpoint_list
UPDATE {schema}.checkpoint_lists
SET base_checkpoint_id = $3, base_list = $4, keep = $5, added = $6, pos = $7
WHERE checkpoint_id = $1 AND list = $2

-- name: checkpoint_ids_matching
(SELECT checkpoint_id FROM {schema}.checkpoints WHERE checkpoint_id = $1)
UNION ALL
(SELECT checkpoint_id FROM {schema}.checkpoints WHERE checkpoint_id LIKE $2 AND checkpoint_id <> $1 ORDER BY checkpoint_id LIMIT 11)

-- name: restore_checkpoint
-- The checkpoint and every list its lists are built from (O(log n) links each). The lateral
-- LIMIT 1 keeps each link a primary-key lookup whatever the table statistics say.
WITH RECURSIVE chain AS (
    SELECT l.checkpoint_id, l.list, l.base_checkpoint_id, l.base_list, l.keep, l.added
    FROM {schema}.checkpoint_lists l WHERE l.checkpoint_id = $1
  UNION
    SELECT b.checkpoint_id, b.list, b.base_checkpoint_id, b.base_list, b.keep, b.added
    FROM chain c
    CROSS JOIN LATERAL (
        SELECT l.checkpoint_id, l.list, l.base_checkpoint_id, l.base_list, l.keep, l.added
        FROM {schema}.checkpoint_lists l
        WHERE l.checkpoint_id = c.base_checkpoint_id AND l.list = c.base_list
        LIMIT 1
    ) b
)
SELECT c.checkpoint_id, c.trace_id, c.span_id, c.step, c.name, c.auto, c.span_kind, c.span_name,
       c.agent_id, c.created_at, c.replay_count, c.last_replayed_at, c.span_hash, c.agent_hash, c.input_hash,
       ch.ids, ch.lists, ch.bases, ch.base_lists, ch.keeps, ch.added
FROM {schema}.checkpoints c,
     LATERAL (SELECT array_agg(checkpoint_id) AS ids, array_agg(list) AS lists,
                     array_agg(base_checkpoint_id) AS bases, array_agg(base_list) AS base_lists,
                     array_agg(keep) AS keeps, array_agg(added) AS added FROM chain) ch
WHERE c.checkpoint_id = $1

-- name: get_blobs
-- One row: the hashes and their values in the same order (one aggregation pass feeds both),
-- so the client decodes one JSON array instead of a row per value.
SELECT array_agg(hash) AS hashes, json_agg(value) AS vals
FROM {schema}.blobs WHERE trace_id = $1 AND hash = ANY($2::bytea[])

-- name: list_checkpoints
SELECT c.checkpoint_id, c.trace_id, c.span_id, c.step, c.name, c.auto, c.span_kind, c.span_name,
       c.agent_id, a.name AS agent_name, c.created_at, c.replay_count, c.last_replayed_at
FROM {schema}.checkpoints c
LEFT JOIN {schema}.agents a ON a.trace_id = c.trace_id AND a.agent_id = c.agent_id
WHERE c.trace_id = $1
ORDER BY c.step

-- name: checkpoint_trace
SELECT trace_id FROM {schema}.checkpoints WHERE checkpoint_id = $1

-- name: delete_checkpoint
DELETE FROM {schema}.checkpoints WHERE checkpoint_id = $1

-- name: checkpoint_single_hashes
SELECT checkpoint_id, span_hash, agent_hash, input_hash FROM {schema}.checkpoints WHERE trace_id = $1

-- name: delete_blobs
DELETE FROM {schema}.blobs WHERE trace_id = $1 AND hash = ANY($2::bytea[])

-- name: set_checkpoint_name
UPDATE {schema}.checkpoints SET name = $2 WHERE checkpoint_id = $1

-- name: span_traces
SELECT trace_id FROM {schema}.spans WHERE span_id = $1 ORDER BY trace_id LIMIT 5

-- name: span_ids_matching
(SELECT span_id FROM {schema}.spans WHERE trace_id = $1 AND span_id = $2)
UNION ALL
(SELECT span_id FROM {schema}.spans WHERE trace_id = $1 AND span_id LIKE $3 AND span_id <> $2 ORDER BY span_id LIMIT 11)

-- name: span_outputs
SELECT (SELECT output FROM {schema}.spans WHERE trace_id = $1 AND span_id = $2) AS span_output,
       (SELECT s.output FROM {schema}.spans s
        WHERE s.trace_id = $1
          AND (s.parent_span_id IS NULL
               OR NOT EXISTS (SELECT 1 FROM {schema}.spans p WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id))
        ORDER BY s.start_time NULLS LAST, s.span_id LIMIT 1) AS run_output

-- name: insert_replay
INSERT INTO {schema}.replays
    (replay_id, checkpoint_id, trace_id, executor, config, input, original_output, replay_output, diff,
     success, error, executed, note, duration_ms, tokens_used, cost_usd)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING created_at

-- name: count_replay
UPDATE {schema}.checkpoints
SET replay_count = replay_count + 1, last_replayed_at = now()
WHERE checkpoint_id = $1

-- name: replay_ids_matching
(SELECT replay_id FROM {schema}.replays WHERE replay_id = $1)
UNION ALL
(SELECT replay_id FROM {schema}.replays WHERE replay_id LIKE $2 AND replay_id <> $1 ORDER BY replay_id LIMIT 11)

-- name: get_replay
SELECT replay_id, checkpoint_id, trace_id, executor, config, input, original_output, replay_output, diff,
       success, error, executed, note, duration_ms, tokens_used, cost_usd, created_at
FROM {schema}.replays WHERE replay_id = $1

-- name: list_replays
SELECT r.replay_id, r.checkpoint_id, r.trace_id, r.executor, r.success, r.error, r.executed,
       r.duration_ms, r.tokens_used, r.cost_usd, r.created_at,
       (r.diff ->> 'has_changes')::boolean AS has_changes, r.diff ->> 'summary' AS summary,
       c.step, c.span_kind, c.span_name
FROM {schema}.replays r JOIN {schema}.checkpoints c ON c.checkpoint_id = r.checkpoint_id
WHERE r.trace_id = $1
ORDER BY r.created_at, r.replay_id
