-- callgate central: trunk traffic for the busy-hour reports in SQL
-- (docs/chain-console.md, "Busy hour in SQL").
-- ring_s is the call's ring time where the PBX prints one (Call.RingS): a
-- trunk call's connected interval starts after it. The partial covering
-- index holds what the busy hour reads of a trunk call, so a month over
-- many properties is an index-only scan, never a read of the whole rows.
ALTER TABLE callgate.call_state ADD COLUMN ring_s integer;
UPDATE callgate.call_state SET ring_s = (call->>'ring_s')::integer WHERE call IS NOT NULL AND call->>'ring_s' IS NOT NULL;
CREATE INDEX call_state_traffic ON callgate.call_state (start_local) INCLUDE (property, direction, duration_s, ring_s)
	WHERE direction IN ('in', 'out');
