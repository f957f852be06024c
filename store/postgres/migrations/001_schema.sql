-- callgate central: the schema (docs/central.md, "Schema").
-- Every data table's key begins with the property; the big ones (event,
-- call_state) are partitioned by month of a time that never changes for a
-- row, with partitions made on demand by the central.

CREATE TABLE callgate.property (
	property     text PRIMARY KEY,
	token_sha256 bytea NOT NULL UNIQUE,
	disabled     boolean NOT NULL DEFAULT false,
	created_utc  timestamptz NOT NULL DEFAULT now(),
	updated_utc  timestamptz NOT NULL DEFAULT now()
);

-- One row per (property, epoch): the last event held and its hash.
CREATE TABLE callgate.cursor (
	property    text NOT NULL REFERENCES callgate.property,
	epoch       text NOT NULL,
	seq         bigint NOT NULL DEFAULT 0,
	hash        bytea NOT NULL,
	first_utc   timestamptz NOT NULL DEFAULT now(),
	updated_utc timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (property, epoch)
);

-- The property as it last shipped itself (the chain dashboard).
CREATE TABLE callgate.site (
	property     text PRIMARY KEY REFERENCES callgate.property,
	epoch        text NOT NULL,
	name         text NOT NULL,
	timezone     text NOT NULL,
	at_utc       timestamptz,
	link         text NOT NULL,
	queued       bigint NOT NULL,
	in_doubt     bigint NOT NULL,
	version      text NOT NULL,
	received_utc timestamptz NOT NULL
);

-- Every event, its stored body byte for byte (json keeps the text) and hash.
CREATE TABLE callgate.event (
	property   text NOT NULL,
	epoch      text NOT NULL,
	seq        bigint NOT NULL,
	entry      bigint NOT NULL,
	kind       text NOT NULL,
	time_utc   timestamptz NOT NULL,
	time_local timestamp NOT NULL,
	actor      text NOT NULL,
	reason     text NOT NULL,
	from_state text NOT NULL,
	to_state   text NOT NULL,
	hash       bytea NOT NULL,
	body       json NOT NULL,
	PRIMARY KEY (property, epoch, seq, time_utc)
) PARTITION BY RANGE (time_utc);

-- One row per journal entry: its latest state and facts. created_utc is the
-- time of the event that created the entry, so a row never changes
-- partition.
CREATE TABLE callgate.call_state (
	property        text NOT NULL,
	epoch           text NOT NULL,
	entry           bigint NOT NULL,
	created_utc     timestamptz NOT NULL,
	state           text NOT NULL,
	updated_utc     timestamptz NOT NULL,
	last_seq        bigint NOT NULL,
	received_utc    timestamptz,
	source          text,
	start_local     timestamp,
	start_utc       timestamptz,
	extension       text,
	room            text,
	reservation     text,
	dialed          text,
	duration_s      integer,
	direction       text,
	trunk           text,
	account_code    text,
	class           text,
	destination     text,
	band            text,
	billable_s      integer,
	chargeable      boolean,
	carrier_minor   bigint,
	markup_minor    bigint,
	surcharge_minor bigint,
	tax_minor       bigint,
	total_minor     bigint,
	currency        text,
	tariff_version  text,
	exception       text,
	posting         bigint,
	sent_utc        timestamptz,
	pms_answer      text,
	pms_answer_text text,
	answer_utc      timestamptz,
	replays         integer NOT NULL DEFAULT 0,
	-- entry_utc orders the journal (the call's start once parsed, the time
	-- read before); call and charge are the journal's JSON of them, whole.
	entry_utc       timestamptz NOT NULL,
	call            json,
	charge          json,
	PRIMARY KEY (property, epoch, entry, created_utc)
) PARTITION BY RANGE (created_utc);
CREATE INDEX call_state_start ON callgate.call_state (property, start_utc);
CREATE INDEX call_state_entry_utc ON callgate.call_state (property, entry_utc);
CREATE INDEX call_state_state ON callgate.call_state (property, state);

-- One row per posting number an entry was sent under.
CREATE TABLE callgate.posting (
	property    text NOT NULL,
	epoch       text NOT NULL,
	entry       bigint NOT NULL,
	posting     bigint NOT NULL,
	room        text,
	total_minor bigint,
	currency    text,
	state       text NOT NULL,
	given_utc   timestamptz NOT NULL,
	sent_utc    timestamptz,
	answer      text,
	answer_text text,
	answer_utc  timestamptz,
	PRIMARY KEY (property, epoch, entry, posting)
);

-- Every move of an entry into a state that needs a person.
CREATE TABLE callgate.exception (
	property   text NOT NULL,
	epoch      text NOT NULL,
	seq        bigint NOT NULL,
	entry      bigint NOT NULL,
	time_utc   timestamptz NOT NULL,
	from_state text NOT NULL,
	to_state   text NOT NULL,
	reason     text NOT NULL,
	PRIMARY KEY (property, epoch, seq)
);

-- Manual actions and the audit log: persons' moves, audit records, retention
-- runs.
CREATE TABLE callgate.action (
	property   text NOT NULL,
	epoch      text NOT NULL,
	seq        bigint NOT NULL,
	entry      bigint NOT NULL,
	time_utc   timestamptz NOT NULL,
	time_local timestamp NOT NULL,
	kind       text NOT NULL,
	actor      text NOT NULL,
	action     text NOT NULL,
	from_state text NOT NULL,
	to_state   text NOT NULL,
	reason     text NOT NULL,
	detail     jsonb,
	PRIMARY KEY (property, epoch, seq)
);

-- Guest names, only from properties that ship them (central.ship_guest_names).
CREATE TABLE callgate.guest_name (
	property    text NOT NULL REFERENCES callgate.property,
	room        text NOT NULL,
	reservation text NOT NULL,
	last_name   text NOT NULL,
	first_name  text NOT NULL,
	title       text NOT NULL,
	updated_utc timestamptz NOT NULL,
	PRIMARY KEY (property, room, reservation)
);

-- The chain console's users; properties lists what a user may see (NULL:
-- every property).
CREATE TABLE callgate.app_user (
	name          text PRIMARY KEY,
	role          text NOT NULL,
	password_hash bytea NOT NULL,
	properties    text[],
	disabled      boolean NOT NULL DEFAULT false,
	created_utc   timestamptz NOT NULL DEFAULT now(),
	updated_utc   timestamptz NOT NULL DEFAULT now()
);

-- The SQL contract for BI tools (docs/central.md, "SQL contract"): columns
-- are only ever added at the end.
CREATE VIEW callgate.calls AS
SELECT property, entry, state, start_local, start_utc, extension, room, dialed, duration_s, direction, trunk,
       account_code, class, destination, band, billable_s, carrier_minor, markup_minor, surcharge_minor, tax_minor,
       total_minor, currency, tariff_version, posting, pms_answer
  FROM callgate.call_state;

CREATE VIEW callgate.properties AS
SELECT p.property, s.name, s.timezone, c.epoch, c.seq AS last_seq, c.updated_utc AS last_received_utc
  FROM callgate.property p
  LEFT JOIN callgate.site s ON s.property = p.property
  LEFT JOIN LATERAL (SELECT cu.epoch, cu.seq, cu.updated_utc FROM callgate.cursor cu
                      WHERE cu.property = p.property ORDER BY cu.updated_utc DESC, cu.epoch LIMIT 1) c ON true;
