-- Guest data stays at the property (docs/central.md, "Guest data"). A
-- property that does not ship guest data (central.ship_guest_names false)
-- sends the guest events its journal wrote before schema 4, which hold the
-- guest's personal data, sealed: the hash without the body, and the stay's
-- data alone. The central keeps such an event with no body, sealed true,
-- and that data in sealed_data.
ALTER TABLE callgate.event ALTER COLUMN body DROP NOT NULL;
ALTER TABLE callgate.event ADD COLUMN sealed boolean NOT NULL DEFAULT false;
ALTER TABLE callgate.event ADD COLUMN sealed_data json;
-- The shape of a row, checked for every row written from here on. NOT
-- VALID: the rows stored before hold a body and are unsealed, and
-- validating them would read every event under an exclusive lock, minutes
-- on a large central with the applies waiting. PostgreSQL adds it to the
-- partitions NOT VALID too, and to new partitions. Apply (checkShape)
-- refuses any other shape before it reaches the table.
ALTER TABLE callgate.event ADD CONSTRAINT event_body_or_sealed
	CHECK (sealed AND body IS NULL AND sealed_data IS NOT NULL AND kind = 'guest' OR NOT sealed AND body IS NOT NULL AND sealed_data IS NULL) NOT VALID;

-- Only guest events written before journal schema 4 come sealed: the
-- first batch of an epoch that says up to which event that is fixes it
-- here, and a sealed event above it is refused.
ALTER TABLE callgate.cursor ADD COLUMN sealable_upto bigint;

-- A property that ships guest data sends the guest's personal data beside
-- the names.
ALTER TABLE callgate.guest_name ADD COLUMN language text NOT NULL DEFAULT '';
ALTER TABLE callgate.guest_name ADD COLUMN vip text NOT NULL DEFAULT '';
ALTER TABLE callgate.guest_name ADD COLUMN guest_group text NOT NULL DEFAULT '';
ALTER TABLE callgate.guest_name ADD COLUMN no_post boolean NOT NULL DEFAULT false;
ALTER TABLE callgate.guest_name ADD COLUMN class_of_service text NOT NULL DEFAULT '';
