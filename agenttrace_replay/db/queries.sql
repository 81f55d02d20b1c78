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

-- name: insert_trace
INSERT INTO {schema}.traces
    (trace_id, name, start_time, end_time, status, metadata, total_tokens,
     total_cost_usd, total_latency_ms, agent_count)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
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
       total_cost_usd, total_latency_ms, agent_count
FROM {schema}.traces WHERE trace_id = $1

-- name: get_agents
SELECT agent_id, trace_id, name, role, model, framework, config
FROM {schema}.agents WHERE trace_id = $1 ORDER BY agent_id

-- name: get_spans
SELECT span_id, trace_id, parent_span_id, agent_id, name, kind, start_time, end_time,
       status, model, input_tokens, output_tokens, cost_usd, input, output, error, attributes
FROM {schema}.spans WHERE trace_id = $1
ORDER BY start_time NULLS LAST, span_id

-- name: delete_trace
DELETE FROM {schema}.traces WHERE trace_id = $1 RETURNING trace_id

-- name: count_rows
SELECT (SELECT count(*) FROM {schema}.traces) AS traces,
       (SELECT count(*) FROM {schema}.spans) AS spans
