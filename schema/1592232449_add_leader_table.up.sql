-- Leader election (pglock): one row per lock, guarded by a record version number from locks_rvn.
CREATE TABLE locks (
    name                  varchar(255) PRIMARY KEY,
    record_version_number bigint,
    data                  bytea,
    owner                 varchar(255)
);

CREATE SEQUENCE locks_rvn OWNED BY locks.record_version_number;
