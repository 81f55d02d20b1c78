-- Keep span rows of up to 8 kB whole and uncompressed in the table, instead of compressing
-- every row over 2 kB (PostgreSQL's default). Spans with message content are mostly 1-8 kB:
-- storing them this way makes the import's COPY about 40% faster and reading them back
-- faster too (nothing to decompress), for about a third more disk. Larger rows are still
-- compressed and moved out of line as before. Measured in docs/performance.md.
ALTER TABLE {schema}.spans SET (toast_tuple_target = 8160);
