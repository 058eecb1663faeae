-- The schema of Tollgate's shared store (store/pgstore). Plain types only
-- (bytea, bigint, text, boolean), no server-side functions: a
-- PostgreSQL-compatible distributed database runs it too.

-- Licenses: the queried fields as columns, the rest as a JSON record.
-- expiry is License.Expiry() (0: none), kept for the operator's queries.
CREATE TABLE tollgate_licenses (
	id bytea PRIMARY KEY,
	key_hash bytea NOT NULL UNIQUE,
	shop text NOT NULL,
	order_id text NOT NULL,
	product text NOT NULL,
	state bigint NOT NULL,
	expiry bigint NOT NULL,
	record bytea NOT NULL
);
CREATE INDEX tollgate_licenses_shop ON tollgate_licenses (shop, order_id);
CREATE INDEX tollgate_licenses_order ON tollgate_licenses (order_id);
CREATE INDEX tollgate_licenses_product ON tollgate_licenses (product);
CREATE INDEX tollgate_licenses_expiry ON tollgate_licenses (expiry);

-- Activations: last_seen and counter are raised (never lowered) by the
-- write-behind of every gateway. counter is the uint64 counter with its
-- top bit flipped (c XOR 2^63), so that bigint order is the counter's.
CREATE TABLE tollgate_activations (
	license bytea NOT NULL,
	install bytea NOT NULL,
	created bigint NOT NULL,
	last_seen bigint NOT NULL,
	counter bigint NOT NULL,
	record bytea NOT NULL,
	PRIMARY KEY (license, install)
);

-- Sightings of a license: a row only when they say something.
CREATE TABLE tollgate_sightings (
	license bytea PRIMARY KEY,
	flagged_at bigint NOT NULL,
	reason text NOT NULL,
	list bytea NOT NULL
);

CREATE TABLE tollgate_orders (
	shop text NOT NULL,
	id text NOT NULL,
	request bytea NOT NULL,
	sealed bytea NOT NULL,
	count bigint NOT NULL,
	product text NOT NULL,
	created bigint NOT NULL,
	PRIMARY KEY (shop, id)
);

-- One row per shop that minted: the keys minted on its day (UTC days
-- since 1970), and the row orders are placed under (locked FOR UPDATE).
CREATE TABLE tollgate_mint_quota (
	shop text PRIMARY KEY,
	day bigint NOT NULL,
	minted bigint NOT NULL
);

CREATE TABLE tollgate_shops (
	name text PRIMARY KEY,
	public_key bytea NOT NULL UNIQUE,
	record bytea NOT NULL
);

CREATE TABLE tollgate_products (
	code text PRIMARY KEY,
	record bytea NOT NULL
);

-- The audit log: each entry's canonical bytes (entry), and the chain's
-- head, one row locked by every appending transaction: seq of the last
-- entry (0: none) and the SHA-256 of its bytes (empty: none).
CREATE TABLE tollgate_audit (
	seq bigint PRIMARY KEY,
	time bigint NOT NULL,
	entry bytea NOT NULL
);
CREATE TABLE tollgate_audit_head (
	id bigint PRIMARY KEY CHECK (id = 1),
	seq bigint NOT NULL,
	hash bytea NOT NULL
);
INSERT INTO tollgate_audit_head (id, seq, hash) VALUES (1, 0, ''::bytea);
