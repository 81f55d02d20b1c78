-- Traces, the agents that took part, and their spans (columns follow the AgentTrace model).
CREATE TABLE {schema}.traces (
    trace_id          text COLLATE "C" PRIMARY KEY,
    name              text,
    start_time        timestamptz,
    end_time          timestamptz,
    status            text NOT NULL DEFAULT 'completed'
                      CHECK (status IN ('running', 'completed', 'failed', 'timeout')),
    metadata          jsonb NOT NULL DEFAULT '{}',
    total_tokens      bigint NOT NULL DEFAULT 0,
    total_cost_usd    double precision NOT NULL DEFAULT 0,
    total_latency_ms  double precision,
    agent_count       integer NOT NULL DEFAULT 0,
    imported_at       timestamptz NOT NULL DEFAULT now()
);
-- trace list: newest first, optionally since a time
CREATE INDEX traces_start_time_idx ON {schema}.traces (start_time DESC NULLS LAST, trace_id);

CREATE TABLE {schema}.agents (
    trace_id   text COLLATE "C" NOT NULL REFERENCES {schema}.traces (trace_id) ON DELETE CASCADE,
    agent_id   text NOT NULL,
    name       text NOT NULL,
    role       text,
    model      text,
    framework  text,
    config     jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (trace_id, agent_id)
);

CREATE TABLE {schema}.spans (
    trace_id        text COLLATE "C" NOT NULL REFERENCES {schema}.traces (trace_id) ON DELETE CASCADE,
    span_id         text COLLATE "C" NOT NULL,
    parent_span_id  text,
    agent_id        text,
    name            text NOT NULL,
    kind            text CHECK (kind IN ('llm_call', 'tool_call', 'agent_message', 'checkpoint', 'handoff')),
    start_time      timestamptz,
    end_time        timestamptz,
    status          text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error', 'timeout')),
    model           text,
    input_tokens    integer,
    output_tokens   integer,
    cost_usd        double precision,
    input           jsonb,
    output          jsonb,
    error           text,
    attributes      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (trace_id, span_id)
);
-- a trace's spans in execution order (trace show, checkpoint auto)
CREATE INDEX spans_trace_order_idx ON {schema}.spans (trace_id, start_time, span_id);
-- finding which trace a span id belongs to (checkpoint create --span of another trace)
CREATE INDEX spans_span_id_idx ON {schema}.spans (span_id);
