-- Finish reasons in the OpenTelemetry GenAI vocabulary, as imports now store them (see
-- records.finish_reason): model calls imported before hold the provider's own words
-- (OpenAI's `tool_calls`), and a replay of an unchanged agent, which now says `tool_call`,
-- would differ from them by that word alone. tests/test_db.py holds this list to the code's.
UPDATE {schema}.spans s
SET output = jsonb_set(s.output, '{finish_reason}', to_jsonb(m.genai))
FROM (VALUES
    ('tool_calls', 'tool_call'), ('function_call', 'tool_call'), ('tool_use', 'tool_call'),
    ('end_turn', 'stop'), ('stop_sequence', 'stop'), ('eos', 'stop'), ('end', 'stop'),
    ('max_tokens', 'length'), ('max_output_tokens', 'length'), ('model_length', 'length'),
    ('content_filtered', 'content_filter'), ('safety', 'content_filter')
) AS m (provider, genai)
WHERE s.kind = 'llm_call'
  AND jsonb_typeof(s.output) = 'object'
  AND lower(s.output ->> 'finish_reason') = m.provider;
