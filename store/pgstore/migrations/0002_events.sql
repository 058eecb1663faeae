-- Shops' event streams (store.Event): each shop's events numbered from 1
-- without gaps, written in the transaction of the change they record.
-- The head row of a shop (seq: its last event) is what appending
-- transactions lock and advance, so that two gateways number one shop's
-- events in the order of their commits; each event's row keeps its JSON
-- record (event).
CREATE TABLE tollgate_event_heads (
	shop text PRIMARY KEY,
	seq bigint NOT NULL
);
CREATE TABLE tollgate_events (
	shop text NOT NULL,
	seq bigint NOT NULL,
	time bigint NOT NULL,
	event bytea NOT NULL,
	PRIMARY KEY (shop, seq)
);

-- The expiring events appended (Backend.AppendExpiring): one row per
-- license and end (Unix seconds), inserted with the event, so that the
-- gateways of one database append one each.
CREATE TABLE tollgate_expiring_noted (
	license bytea NOT NULL,
	expiry bigint NOT NULL,
	PRIMARY KEY (license, expiry)
);
