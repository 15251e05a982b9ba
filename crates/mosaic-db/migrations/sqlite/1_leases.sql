-- Leader leases: one active relay or projection runner per name; the others stand by and take
-- over when the holder stops renewing.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
