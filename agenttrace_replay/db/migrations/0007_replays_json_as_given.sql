-- A replay's values are stored as the text they were written in (json), not re-ordered
-- (jsonb keeps an object's keys sorted by length, then bytes): `replay show --json` and
-- `diff --json` then print a replay exactly as `replay run --json` did, and the diff's
-- entries stay in document order as docs/diff.md says. Nothing queries inside these
-- values but `diff ->> ...`, which json has too; storing json skips jsonb's parsing.
ALTER TABLE {schema}.replays
    ALTER COLUMN config DROP DEFAULT,
    ALTER COLUMN config TYPE json USING config::json,
    ALTER COLUMN config SET DEFAULT '{}',
    ALTER COLUMN input TYPE json USING input::json,
    ALTER COLUMN original_output TYPE json USING original_output::json,
    ALTER COLUMN replay_output TYPE json USING replay_output::json,
    ALTER COLUMN diff TYPE json USING diff::json;
