-- Keyless trials (store.Trial): one mark per product and install, its
-- JSON record (store.EncodeTrial) beside the columns queries need, and
-- an index row per fingerprint component (kind byte and keyed hash), by
-- which a machine that had a trial is found again under a new install.
-- A product's head row is what StartTrial writes first (an upsert, which
-- locks it), so that two gateways starting trials of one product take
-- turns, the later one run again on a snapshot that sees the other's.
CREATE TABLE tollgate_trial_heads (
	product text PRIMARY KEY
);
CREATE TABLE tollgate_trials (
	product text NOT NULL,
	install bytea NOT NULL,
	license bytea NOT NULL,
	started bigint NOT NULL,
	ends bigint NOT NULL,
	record bytea NOT NULL,
	PRIMARY KEY (product, install)
);
CREATE TABLE tollgate_trial_components (
	product text NOT NULL,
	component bytea NOT NULL,
	install bytea NOT NULL,
	PRIMARY KEY (product, component, install)
);
