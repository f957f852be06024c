-- callgate.properties names the property's current epoch: one no other
-- epoch follows (a restored journal's, not the replaced file's that ships
-- its last events late), then the one last received (docs/central.md,
-- "Epochs"). The columns are the contract's, unchanged.
CREATE OR REPLACE VIEW callgate.properties AS
SELECT p.property, s.name, s.timezone, c.epoch, c.seq AS last_seq, c.updated_utc AS last_received_utc
  FROM callgate.property p
  LEFT JOIN callgate.site s ON s.property = p.property
  LEFT JOIN LATERAL (SELECT cu.epoch, cu.seq, cu.updated_utc FROM callgate.cursor cu
                      WHERE cu.property = p.property
                      ORDER BY EXISTS (SELECT 1 FROM callgate.epoch f WHERE f.property = cu.property AND f.follows = cu.epoch),
                               cu.updated_utc DESC, cu.epoch
                      LIMIT 1) c ON true;
