-- Keep span rows of up to 8 kB whole and uncompressed in the table, instead of compressing
-- every row over 2 kB (PostgreSQL's default, pglz; this build has no lz4). Spans with
-- message content are mostly 1-8 kB: stored this way, the benchmark trace imports about a
-- quarter faster and reads back without decompressing, for about 60-70% more disk on this
-- table. Larger rows are still compressed and moved out of line. docs/configuration.md
-- says how to go back; docs/performance.md has the figures.
ALTER TABLE {schema}.spans SET (toast_tuple_target = 8160);
