-- callgate central: the epochs of a property whose journal file was replaced
-- (docs/central.md, "Epochs"). A backup put back in place starts a new epoch
-- that ships the whole log again: its entries up to follows_upto_entry are
-- the same calls as those of the epoch it follows. Both epochs are kept;
-- a call both hold is counted once, in the newer epoch.

-- One row per (property, epoch), made at the epoch's first batch; n orders
-- them by first sight (newer: larger).
CREATE TABLE callgate.epoch (
	property           text NOT NULL REFERENCES callgate.property,
	epoch              text NOT NULL,
	chain_epoch        text NOT NULL,
	follows            text,
	follows_upto_entry bigint NOT NULL DEFAULT 0,
	n                  bigserial NOT NULL,
	first_utc          timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (property, epoch)
);
-- The epochs shipped before: each its own chain, following none.
INSERT INTO callgate.epoch (property, epoch, chain_epoch, first_utc)
	SELECT property, epoch, epoch, first_utc FROM callgate.cursor ORDER BY first_utc, property, epoch;

-- An entry a newer epoch holds too: that epoch's name. The views and the
-- chain's queries read only the rows where it is NULL.
ALTER TABLE callgate.call_state ADD COLUMN superseded_by text;

-- The SQL contract: the same columns, each call once.
CREATE OR REPLACE VIEW callgate.calls AS
SELECT property, entry, state, start_local, start_utc, extension, room, dialed, duration_s, direction, trunk,
       account_code, class, destination, band, billable_s, carrier_minor, markup_minor, surcharge_minor, tax_minor,
       total_minor, currency, tariff_version, posting, pms_answer, epoch
  FROM callgate.call_state
 WHERE superseded_by IS NULL;

-- The busy hour's covering indices skip the calls a newer epoch holds.
DROP INDEX callgate.call_state_traffic;
DROP INDEX callgate.call_state_traffic_long;
CREATE INDEX call_state_traffic ON callgate.call_state (wall_h) INCLUDE (property, conn_s, conn_end_s)
	WHERE direction IN ('in', 'out') AND superseded_by IS NULL;
CREATE INDEX call_state_traffic_long ON callgate.call_state (wall_h) INCLUDE (property, conn_s, conn_end_s)
	WHERE direction IN ('in', 'out') AND conn_end_s > (wall_h + 2) * 3600 AND superseded_by IS NULL;
