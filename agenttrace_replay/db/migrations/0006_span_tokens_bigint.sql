-- Token counts as 64-bit integers, like the trace's total: a span that reports more than
-- 2^31 - 1 tokens (a counter gone wrong, usually) is stored as written instead of making
-- the database refuse its whole file.
ALTER TABLE {schema}.spans
    ALTER COLUMN input_tokens TYPE bigint,
    ALTER COLUMN output_tokens TYPE bigint;
