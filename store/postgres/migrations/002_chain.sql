-- callgate central: the chain console's needs: trunk traffic for the busy-hour reports in SQL
-- (docs/chain-console.md, "Busy hour in SQL").
-- ring_s is the call's ring time where the PBX prints one (Call.RingS): a
-- trunk call's connected interval starts after it.
ALTER TABLE callgate.call_state ADD COLUMN ring_s integer;
UPDATE callgate.call_state SET ring_s = (call->>'ring_s')::integer WHERE call IS NOT NULL AND call->>'ring_s' IS NOT NULL;
-- The hour the call starts in, and its connected interval in seconds, on
-- the property's wall clock counted from 1970, kept by PostgreSQL: the busy
-- hour then folds integers, not times.
ALTER TABLE callgate.call_state
	ADD COLUMN wall_h bigint GENERATED ALWAYS AS (floor(date_part('epoch', start_local) / 3600)::bigint) STORED,
	ADD COLUMN conn_s bigint GENERATED ALWAYS AS (floor(date_part('epoch', start_local))::bigint + greatest(COALESCE(ring_s, 0), 0)) STORED,
	ADD COLUMN conn_end_s bigint GENERATED ALWAYS AS (floor(date_part('epoch', start_local))::bigint + greatest(COALESCE(ring_s, 0), 0) + greatest(COALESCE(duration_s, 0), 0)) STORED;
-- What the busy hour reads of a trunk call, so that a month over many
-- properties is an index-only scan in hour order, never a read of the
-- whole rows; and the few calls whose connected time runs past the hour
-- after the one they start in.
CREATE INDEX call_state_traffic ON callgate.call_state (wall_h) INCLUDE (property, conn_s, conn_end_s)
	WHERE direction IN ('in', 'out');
CREATE INDEX call_state_traffic_long ON callgate.call_state (wall_h) INCLUDE (property, conn_s, conn_end_s)
	WHERE direction IN ('in', 'out') AND conn_end_s > (wall_h + 2) * 3600;

-- The property's journal head as its last snapshot gave it
-- (SiteSnapshot.Head): the chain dashboard's lag in events.
ALTER TABLE callgate.site ADD COLUMN head bigint NOT NULL DEFAULT 0;
