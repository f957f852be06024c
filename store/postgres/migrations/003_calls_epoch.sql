-- callgate.calls gains its journal epoch as its last column (the contract
-- only ever adds columns at the end): a property whose journal was
-- replaced numbers its entries from 1 again in a new epoch, so a row is
-- one (property, epoch, entry) and BI tools tell the two apart by epoch.
CREATE OR REPLACE VIEW callgate.calls AS
SELECT property, entry, state, start_local, start_utc, extension, room, dialed, duration_s, direction, trunk,
       account_code, class, destination, band, billable_s, carrier_minor, markup_minor, surcharge_minor, tax_minor,
       total_minor, currency, tariff_version, posting, pms_answer, epoch
  FROM callgate.call_state;
