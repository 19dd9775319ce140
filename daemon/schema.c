/*
 * The database schema, as the list of migrations that builds it.  Table
 * and column names are a public contract with the CRM application that
 * shares the database (docs/schema.md documents every one), so a released
 * migration is never edited: a change is a new migration appended here.
 *
 * Conventions: instants are INTEGER Unix seconds UTC; calendar dates are
 * TEXT YYYY-MM-DD (birthdays may be MM-DD); money is INTEGER fen (cents),
 * never REAL; enumerations are CHECKed; flags are INTEGER 0/1.
 */
#include <stddef.h>

#include "migrate.h"

/* Evaluated by whichever program inserts, so no unixepoch(): it needs
 * SQLite 3.38 and the CRM application may link an older one. */
#define NOW	"(CAST(strftime('%s', 'now') AS INTEGER))"

#define BOOL(c)	"CHECK (" c " IN (0, 1))"

/* A modifier makes date() normalise 2024-02-30 to 2024-03-01 (bare
 * date() passes it through), so equality rejects days a month lacks. */
#define DATE_OK(c)							\
	"(" c " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"	\
	" AND date(" c ", '+0 days') IS " c ")"

/* A year-less birthday is checked against a leap year to allow 02-29. */
#define BIRTHDAY_OK(c)							\
	"CHECK (" c " IS NULL OR " DATE_OK(c) " OR (" c			\
	" GLOB '[0-9][0-9]-[0-9][0-9]' AND date('2000-' || " c ", '+0 days')"	\
	" IS '2000-' || " c "))"

/*
 * A channel list: "" or names from the set joined by single commas.
 * Doubling every comma first lets each ",name," be removed on its own;
 * whatever is left besides commas is an unknown name.
 */
#define CHANNELS_OK(c)							\
	"CHECK (" c " NOT GLOB ',*' AND " c " NOT GLOB '*,'"		\
	" AND " c " NOT GLOB '*,,*' AND replace(replace(replace("	\
	"replace(replace(replace(',' || " c " || ',', ',', ',,'),"	\
	" ',inapp,', ''), ',email,', ''), ',sms,', ''),"		\
	" ',webhook,', ''), ',', '') = '')"

static const char v1_sql[] =
"CREATE TABLE users ("
"	id		INTEGER PRIMARY KEY,"
"	name		TEXT NOT NULL CHECK (name <> ''),"
"	email		TEXT,"
"	phone		TEXT,"
"	manager_id	INTEGER REFERENCES users(id) ON DELETE SET NULL,"
"	region		TEXT,"
"	active		INTEGER NOT NULL DEFAULT 1 " BOOL("active") ","
"	created_at	INTEGER NOT NULL DEFAULT " NOW
");"
"CREATE INDEX users_manager ON users(manager_id);"

"CREATE TABLE customers ("
"	id		INTEGER PRIMARY KEY,"
"	code		TEXT NOT NULL UNIQUE CHECK ("
"			    code GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9]*'"
"			    AND substr(code, 5, 2) BETWEEN '01' AND '12'"
"			    AND substr(code, 8) NOT GLOB '*[^0-9]*'),"
"	name		TEXT NOT NULL CHECK (name <> ''),"
"	kind		TEXT NOT NULL DEFAULT 'company'"
"			    CHECK (kind IN ('company', 'person')),"
"	status		TEXT NOT NULL DEFAULT 'potential'"
"			    CHECK (status IN ('potential', 'intent', 'won', 'lost')),"
"	level		TEXT CHECK (level IN ('A', 'B', 'C')),"
"	industry	TEXT,"
"	source		TEXT,"
"	region		TEXT,"
"	owner_id	INTEGER REFERENCES users(id),"
"	phone		TEXT,"
"	email		TEXT,"
"	birthday	TEXT " BIRTHDAY_OK("birthday") ","
"	opt_out_sms	INTEGER NOT NULL DEFAULT 0 " BOOL("opt_out_sms") ","
"	opt_out_email	INTEGER NOT NULL DEFAULT 0 " BOOL("opt_out_email") ","
"	created_at	INTEGER NOT NULL DEFAULT " NOW ","
"	updated_at	INTEGER NOT NULL DEFAULT " NOW
");"
"CREATE INDEX customers_owner ON customers(owner_id);"
"CREATE INDEX customers_status ON customers(status);"
"CREATE INDEX customers_updated ON customers(updated_at);"
/* Rules look for customers changed since their last run; a writer that
 * forgets updated_at must not hide a change from them.  The second test
 * ends the recursion should a writer turn recursive_triggers on. */
"CREATE TRIGGER customers_touch AFTER UPDATE ON customers"
"	WHEN NEW.updated_at IS OLD.updated_at AND NEW.updated_at IS NOT " NOW
"	BEGIN UPDATE customers SET updated_at = " NOW " WHERE id = NEW.id; END;"

"CREATE TABLE contacts ("
"	id		INTEGER PRIMARY KEY,"
"	customer_id	INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
"	name		TEXT NOT NULL CHECK (name <> ''),"
"	title		TEXT,"
"	phone		TEXT,"
"	email		TEXT,"
"	birthday	TEXT " BIRTHDAY_OK("birthday") ","
"	is_primary	INTEGER NOT NULL DEFAULT 0 " BOOL("is_primary")
");"
"CREATE INDEX contacts_customer ON contacts(customer_id);"
"CREATE UNIQUE INDEX contacts_one_primary ON contacts(customer_id)"
"	WHERE is_primary = 1;"

"CREATE TABLE followups ("
"	id		INTEGER PRIMARY KEY,"
"	customer_id	INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
"	user_id		INTEGER NOT NULL REFERENCES users(id),"
"	at		INTEGER NOT NULL,"
"	method		TEXT NOT NULL DEFAULT 'phone' CHECK (method IN ('phone',"
"			    'visit', 'wechat', 'email', 'sms', 'meeting', 'other')),"
"	content		TEXT NOT NULL DEFAULT '',"
"	feedback	TEXT,"
"	next_action	TEXT,"
"	next_followup_at INTEGER,"
"	created_at	INTEGER NOT NULL DEFAULT " NOW
");"
"CREATE INDEX followups_customer_at ON followups(customer_id, at);"
"CREATE INDEX followups_user ON followups(user_id);"
"CREATE INDEX followups_next ON followups(next_followup_at)"
"	WHERE next_followup_at IS NOT NULL;"

"CREATE TABLE orders ("
"	id		INTEGER PRIMARY KEY,"
"	customer_id	INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
"	amount		INTEGER NOT NULL CHECK (amount >= 0),"
"	ordered_at	INTEGER NOT NULL"
");"
"CREATE INDEX orders_customer_at ON orders(customer_id, ordered_at);"

"CREATE TABLE contracts ("
"	id		INTEGER PRIMARY KEY,"
"	customer_id	INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
"	title		TEXT NOT NULL DEFAULT '',"
"	start_date	TEXT NOT NULL CHECK " DATE_OK("start_date") ","
"	end_date	TEXT NOT NULL CHECK " DATE_OK("end_date") ","
"	amount		INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),"
"	CHECK (end_date >= start_date)"
");"
"CREATE INDEX contracts_customer ON contracts(customer_id);"
"CREATE INDEX contracts_end ON contracts(end_date);"

"CREATE TABLE tags ("
"	id		INTEGER PRIMARY KEY,"
"	name		TEXT NOT NULL UNIQUE CHECK (name <> '')"
");"

"CREATE TABLE customer_tags ("
"	customer_id	INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
"	tag_id		INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,"
"	source		TEXT NOT NULL DEFAULT 'manual'"
"			    CHECK (source = 'manual' OR source GLOB 'rule:?*'),"
"	added_at	INTEGER NOT NULL DEFAULT " NOW ","
"	PRIMARY KEY (customer_id, tag_id)"
");"
"CREATE INDEX customer_tags_tag ON customer_tags(tag_id);"

"CREATE TABLE followup_plans ("
"	id		INTEGER PRIMARY KEY,"
"	customer_id	INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
"	user_id		INTEGER NOT NULL REFERENCES users(id),"
"	name		TEXT NOT NULL DEFAULT '',"
"	rrule		TEXT NOT NULL CHECK (rrule <> ''),"
"	dtstart		INTEGER NOT NULL,"
"	until		INTEGER,"
"	channels	TEXT NOT NULL DEFAULT '' " CHANNELS_OK("channels") ","
"	active		INTEGER NOT NULL DEFAULT 1 " BOOL("active") ","
"	next_at		INTEGER,"
"	created_at	INTEGER NOT NULL DEFAULT " NOW ","
"	CHECK (until IS NULL OR until >= dtstart)"
");"
"CREATE INDEX followup_plans_customer ON followup_plans(customer_id);"
"CREATE INDEX followup_plans_user ON followup_plans(user_id);"
"CREATE INDEX followup_plans_next ON followup_plans(active, next_at);"

"CREATE TABLE reminders ("
"	id		INTEGER PRIMARY KEY,"
"	customer_id	INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
"	user_id		INTEGER NOT NULL REFERENCES users(id),"
"	kind		TEXT NOT NULL CHECK (kind IN ('followup', 'callback',"
"			    'renewal', 'birthday', 'custom')),"
"	due_at		INTEGER NOT NULL,"
"	channels	TEXT NOT NULL DEFAULT '' " CHANNELS_OK("channels") ","
"	note		TEXT NOT NULL DEFAULT '',"
"	state		TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
"			    'fired', 'acked', 'snoozed', 'cancelled', 'missed')),"
"	source		TEXT NOT NULL DEFAULT 'crm' CHECK (source IN ('crm',"
"			    'crmctl', 'plan', 'contract', 'birthday', 'followup')"
"			    OR source GLOB 'rule:?*'),"
"	dedup_key	TEXT UNIQUE,"
"	plan_id		INTEGER REFERENCES followup_plans(id) ON DELETE SET NULL,"
"	late		INTEGER NOT NULL DEFAULT 0 " BOOL("late") ","
"	fired_at	INTEGER,"
"	acked_at	INTEGER,"
"	snoozed_until	INTEGER,"
"	escalated_at	INTEGER,"
"	created_at	INTEGER NOT NULL DEFAULT " NOW ","
"	CHECK (state <> 'snoozed' OR snoozed_until IS NOT NULL)"
");"
"CREATE INDEX reminders_state_due ON reminders(state, due_at);"
"CREATE INDEX reminders_snoozed ON reminders(snoozed_until)"
"	WHERE state = 'snoozed';"
"CREATE INDEX reminders_customer ON reminders(customer_id);"
"CREATE INDEX reminders_user_state ON reminders(user_id, state, due_at);"
/* crmctl reminder list without filters, newest history included: due_at
 * never changes when a reminder fires, so this costs only at insert. */
"CREATE INDEX reminders_due ON reminders(due_at);"
"CREATE INDEX reminders_plan ON reminders(plan_id);"

"CREATE TABLE notifications ("
"	id		INTEGER PRIMARY KEY,"
"	user_id		INTEGER NOT NULL REFERENCES users(id),"
"	customer_id	INTEGER REFERENCES customers(id) ON DELETE SET NULL,"
"	reminder_id	INTEGER REFERENCES reminders(id) ON DELETE SET NULL,"
"	title		TEXT NOT NULL,"
"	body		TEXT NOT NULL DEFAULT '',"
"	created_at	INTEGER NOT NULL DEFAULT " NOW ","
"	read_at		INTEGER"
");"
"CREATE INDEX notifications_user_read ON notifications(user_id, read_at);"
"CREATE INDEX notifications_customer ON notifications(customer_id);"
"CREATE INDEX notifications_reminder ON notifications(reminder_id);"

"CREATE TABLE outbox ("
"	id		INTEGER PRIMARY KEY,"
"	channel		TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),"
"	recipient	TEXT NOT NULL CHECK (recipient <> ''),"
"	subject		TEXT NOT NULL DEFAULT '',"
"	body		TEXT NOT NULL DEFAULT '',"
"	state		TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued',"
"			    'sending', 'sent', 'dead')),"
"	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
"	next_attempt_at	INTEGER NOT NULL DEFAULT " NOW ","
"	lease_until	INTEGER,"
"	last_error	TEXT,"
"	idempotency_key	TEXT UNIQUE,"
"	created_at	INTEGER NOT NULL DEFAULT " NOW ","
"	sent_at		INTEGER,"
"	reminder_id	INTEGER REFERENCES reminders(id) ON DELETE SET NULL,"
"	customer_id	INTEGER REFERENCES customers(id) ON DELETE SET NULL"
");"
"CREATE INDEX outbox_state_next ON outbox(state, next_attempt_at);"
"CREATE INDEX outbox_reminder ON outbox(reminder_id);"
"CREATE INDEX outbox_customer ON outbox(customer_id);"

/* History is kept: a cleared flag stays as a row, and only one flag of a
 * kind may be open per customer at a time. */
"CREATE TABLE customer_flags ("
"	id		INTEGER PRIMARY KEY,"
"	customer_id	INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,"
"	flag		TEXT NOT NULL CHECK (flag <> ''),"
"	reason		TEXT NOT NULL DEFAULT '',"
"	since		INTEGER NOT NULL DEFAULT " NOW ","
"	notified_at	INTEGER,"
"	cleared_at	INTEGER"
");"
"CREATE UNIQUE INDEX customer_flags_open ON customer_flags(customer_id, flag)"
"	WHERE cleared_at IS NULL;"
"CREATE INDEX customer_flags_customer ON customer_flags(customer_id);"

/* No foreign key: the audit trail outlives the customers it mentions. */
"CREATE TABLE audit_log ("
"	id		INTEGER PRIMARY KEY,"
"	at		INTEGER NOT NULL DEFAULT " NOW ","
"	actor		TEXT NOT NULL CHECK (actor <> ''),"
"	action		TEXT NOT NULL CHECK (action <> ''),"
"	customer_id	INTEGER,"
"	detail		TEXT NOT NULL DEFAULT ''"
");"
"CREATE INDEX audit_log_at ON audit_log(at);"
"CREATE INDEX audit_log_customer ON audit_log(customer_id);";

/*
 * v2: what the reminder scheduler needs.  The CRM application's writes to
 * the tables reminders come from are recorded by triggers in change_log,
 * so crmd reacts to exactly the rows that changed instead of rescanning
 * tables; PRAGMA data_version tells it when to look.
 */
#define LOG_CHANGE(tbl, op, idexpr)					\
	"INSERT INTO change_log (tbl, row_id, op) VALUES ('" tbl "', "	\
	idexpr ", '" op "');"

static const char v2_sql[] =
"CREATE TABLE crmd_state ("
"	key		TEXT PRIMARY KEY,"
"	value		INTEGER NOT NULL"
") WITHOUT ROWID;"

"CREATE TABLE change_log ("
"	id		INTEGER PRIMARY KEY,"
"	tbl		TEXT NOT NULL,"
"	row_id		INTEGER NOT NULL,"
"	op		TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),"
"	at		INTEGER NOT NULL DEFAULT " NOW
");"

"CREATE TRIGGER contracts_log_ins AFTER INSERT ON contracts BEGIN "
	LOG_CHANGE("contracts", "insert", "NEW.id") " END;"
"CREATE TRIGGER contracts_log_upd AFTER UPDATE OF end_date, customer_id"
"	ON contracts BEGIN " LOG_CHANGE("contracts", "update", "NEW.id") " END;"
"CREATE TRIGGER contracts_log_del AFTER DELETE ON contracts BEGIN "
	LOG_CHANGE("contracts", "delete", "OLD.id") " END;"

"CREATE TRIGGER customers_log_ins AFTER INSERT ON customers"
"	WHEN NEW.birthday IS NOT NULL BEGIN "
	LOG_CHANGE("customers", "insert", "NEW.id") " END;"
"CREATE TRIGGER customers_log_upd AFTER UPDATE OF birthday, owner_id"
"	ON customers WHEN NEW.birthday IS NOT OLD.birthday"
"	OR (NEW.birthday IS NOT NULL AND NEW.owner_id IS NOT OLD.owner_id)"
"	BEGIN " LOG_CHANGE("customers", "update", "NEW.id") " END;"

"CREATE TRIGGER contacts_log_ins AFTER INSERT ON contacts"
"	WHEN NEW.birthday IS NOT NULL BEGIN "
	LOG_CHANGE("contacts", "insert", "NEW.id") " END;"
"CREATE TRIGGER contacts_log_upd AFTER UPDATE OF birthday ON contacts"
"	WHEN NEW.birthday IS NOT OLD.birthday BEGIN "
	LOG_CHANGE("contacts", "update", "NEW.id") " END;"
"CREATE TRIGGER contacts_log_del AFTER DELETE ON contacts"
"	WHEN OLD.birthday IS NOT NULL BEGIN "
	LOG_CHANGE("contacts", "delete", "OLD.id") " END;"

"CREATE TRIGGER followups_log_ins AFTER INSERT ON followups BEGIN "
	LOG_CHANGE("followups", "insert", "NEW.id") " END;"
"CREATE TRIGGER followups_log_upd AFTER UPDATE OF next_followup_at, at,"
"	user_id ON followups BEGIN "
	LOG_CHANGE("followups", "update", "NEW.id") " END;"

"CREATE TRIGGER plans_log_ins AFTER INSERT ON followup_plans BEGIN "
	LOG_CHANGE("followup_plans", "insert", "NEW.id") " END;"
"CREATE TRIGGER plans_log_upd AFTER UPDATE OF rrule, dtstart, until,"
"	active, user_id, channels ON followup_plans BEGIN "
	LOG_CHANGE("followup_plans", "update", "NEW.id") " END;"

/* The CRM acknowledges by writing acked_at; the state follows here, so it
 * holds whichever program wrote it. */
"CREATE TRIGGER reminders_ack AFTER UPDATE OF acked_at ON reminders"
"	WHEN NEW.acked_at IS NOT NULL AND OLD.acked_at IS NULL"
"	AND NEW.state IN ('pending', 'fired', 'snoozed')"
"	BEGIN UPDATE reminders SET state = 'acked' WHERE id = NEW.id; END;"

/* A series (plan, birthday) whose pending occurrence was acknowledged
 * or cancelled before it fired, by crmctl or by the CRM, moves on. */
"CREATE TRIGGER reminders_series_log AFTER UPDATE OF state ON reminders"
"	WHEN OLD.state = 'pending' AND NEW.state IN ('acked', 'cancelled')"
"	AND (NEW.plan_id IS NOT NULL OR NEW.source = 'birthday') BEGIN "
	LOG_CHANGE("reminders", "update", "NEW.id") " END;"

/* When a fired reminder unacknowledged goes to the manager (working time
 * counted), and how often it has fired (snoozes fire again), which keeps
 * each firing's outbox idempotency keys distinct. */
"ALTER TABLE reminders ADD COLUMN escalate_at INTEGER;"
"ALTER TABLE reminders ADD COLUMN fire_count INTEGER NOT NULL DEFAULT 0;"
"CREATE INDEX reminders_escalate ON reminders(escalate_at)"
"	WHERE state = 'fired' AND escalated_at IS NULL;"

"CREATE TABLE digests ("
"	user_id		INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"	day		TEXT NOT NULL CHECK " DATE_OK("day") ","
"	sent_at		INTEGER NOT NULL DEFAULT " NOW ","
"	PRIMARY KEY (user_id, day)"
") WITHOUT ROWID;"

/* Rows that existed before crmd did get their reminders too. */
"INSERT INTO change_log (tbl, row_id, op)"
"	SELECT 'contracts', id, 'insert' FROM contracts;"
"INSERT INTO change_log (tbl, row_id, op)"
"	SELECT 'customers', id, 'insert' FROM customers"
"	WHERE birthday IS NOT NULL;"
"INSERT INTO change_log (tbl, row_id, op)"
"	SELECT 'contacts', id, 'insert' FROM contacts WHERE birthday IS NOT NULL;"
"INSERT INTO change_log (tbl, row_id, op)"
"	SELECT 'followups', id, 'insert' FROM followups"
"	WHERE next_followup_at IS NOT NULL;"
"INSERT INTO change_log (tbl, row_id, op)"
"	SELECT 'followup_plans', id, 'insert' FROM followup_plans"
"	WHERE active = 1;";

/*
 * v3: delivery.  The outbox is also a queue the CRM application may write
 * to (campaign invitations): audience says whether a row goes to one of
 * the team ('user') or to a customer, whose opt-outs and quiet hours the
 * sender honours at the moment of sending.
 */
static const char v3_sql[] =
"ALTER TABLE outbox ADD COLUMN audience TEXT NOT NULL DEFAULT 'user'"
"	CHECK (audience IN ('user', 'customer'));";

/*
 * v4: cheaper firing.  A firing changes a reminder's state, and every
 * index holding the state pays for it twice (delete, insert); a user's
 * reminders are few enough to filter by state after an index range on
 * (user_id, due_at), which a firing leaves alone.  The audit trail is read
 * newest first by id, which already follows time, so the index on at only
 * cost an insert per audited change.
 */
static const char v4_sql[] =
"DROP INDEX reminders_user_state;"
"CREATE INDEX reminders_user_due ON reminders(user_id, due_at);"
"DROP INDEX audit_log_at;";

/*
 * v5: automation rules (docs/rules.md).  The CRM application's writes that
 * rules depend on are recorded per customer in rule_changes by triggers:
 * crmd re-evaluates just those customers within seconds, and the event
 * rules read their events from here (each handled once: each reader's
 * cursor in crmd_state moves in the transaction that handles the rows,
 * and rows behind both are deleted).  The covering indexes keep the
 * order and contract facts to an index range per customer.
 */
#define RULE_CHANGE(cust, ev, detail)					\
	"INSERT INTO rule_changes (customer_id, event, detail) VALUES ("	\
	cust ", '" ev "', " detail ");"

static const char v5_sql[] =
"CREATE TABLE rule_changes ("
"	id		INTEGER PRIMARY KEY,"
"	customer_id	INTEGER NOT NULL,"
"	event		TEXT NOT NULL CHECK (event IN ('customer_created',"
"			    'changed', 'status_changed', 'tag_added',"
"			    'tag_removed', 'followup')),"
"	detail		TEXT NOT NULL DEFAULT '',"
"	at		INTEGER NOT NULL DEFAULT " NOW
");"

"CREATE TRIGGER customers_rule_ins AFTER INSERT ON customers BEGIN "
	RULE_CHANGE("NEW.id", "customer_created", "''") " END;"
"CREATE TRIGGER customers_rule_status AFTER UPDATE OF status ON customers"
"	WHEN NEW.status IS NOT OLD.status BEGIN "
	RULE_CHANGE("NEW.id", "status_changed", "NEW.status") " END;"
"CREATE TRIGGER customers_rule_upd AFTER UPDATE OF kind, level, industry,"
"	source, region, owner_id ON customers"
"	WHEN NEW.kind IS NOT OLD.kind OR NEW.level IS NOT OLD.level"
"	OR NEW.industry IS NOT OLD.industry OR NEW.source IS NOT OLD.source"
"	OR NEW.region IS NOT OLD.region OR NEW.owner_id IS NOT OLD.owner_id"
"	BEGIN " RULE_CHANGE("NEW.id", "changed", "''") " END;"

"CREATE TRIGGER customer_tags_rule_ins AFTER INSERT ON customer_tags BEGIN "
	RULE_CHANGE("NEW.customer_id", "tag_added",
	    "(SELECT name FROM tags WHERE id = NEW.tag_id)") " END;"
"CREATE TRIGGER customer_tags_rule_del AFTER DELETE ON customer_tags BEGIN "
	RULE_CHANGE("OLD.customer_id", "tag_removed",
	    "coalesce((SELECT name FROM tags WHERE id = OLD.tag_id), '')")
	" END;"

"CREATE TRIGGER followups_rule_ins AFTER INSERT ON followups BEGIN "
	RULE_CHANGE("NEW.customer_id", "followup", "''") " END;"
"CREATE TRIGGER followups_rule_upd AFTER UPDATE OF at, customer_id"
"	ON followups BEGIN "
	RULE_CHANGE("NEW.customer_id", "changed", "''") " END;"
"CREATE TRIGGER followups_rule_del AFTER DELETE ON followups BEGIN "
	RULE_CHANGE("OLD.customer_id", "changed", "''") " END;"

"CREATE TRIGGER orders_rule_ins AFTER INSERT ON orders BEGIN "
	RULE_CHANGE("NEW.customer_id", "changed", "''") " END;"
"CREATE TRIGGER orders_rule_upd AFTER UPDATE ON orders BEGIN "
	RULE_CHANGE("NEW.customer_id", "changed", "''") " END;"
"CREATE TRIGGER orders_rule_del AFTER DELETE ON orders BEGIN "
	RULE_CHANGE("OLD.customer_id", "changed", "''") " END;"

"CREATE TRIGGER contracts_rule_ins AFTER INSERT ON contracts BEGIN "
	RULE_CHANGE("NEW.customer_id", "changed", "''") " END;"
"CREATE TRIGGER contracts_rule_upd AFTER UPDATE ON contracts BEGIN "
	RULE_CHANGE("NEW.customer_id", "changed", "''") " END;"
"CREATE TRIGGER contracts_rule_del AFTER DELETE ON contracts BEGIN "
	RULE_CHANGE("OLD.customer_id", "changed", "''") " END;"

"DROP INDEX orders_customer_at;"
"CREATE INDEX orders_customer_amount ON orders(customer_id, ordered_at,"
"	amount);"
"CREATE INDEX contracts_customer_end ON contracts(customer_id, end_date,"
"	start_date);";

/*
 * v6: stale-customer flags and lead assignment (docs/rules.md).  A flag's
 * owner is told once (notified_at) and, after the configured time without
 * a follow-up, the owner's manager once (escalated_at).  `crmctl stale
 * list` and the sweep read the open flags of a kind in the order they
 * were raised.  least_loaded assignment counts a user's open customers
 * inside its write transaction: from the index alone, not 5,000 rows.
 */
static const char v6_sql[] =
"ALTER TABLE customer_flags ADD COLUMN escalated_at INTEGER;"
"CREATE INDEX customer_flags_open_flag ON customer_flags(flag)"
"	WHERE cleared_at IS NULL;"
"CREATE INDEX customers_owner_status ON customers(owner_id, status);";

/*
 * v7: CHECKs without lookup tables.  SQLite tests `x IN ('a', 'b', 'c')`
 * in a CHECK constraint (or a trigger's WHEN) by building a temporary
 * b-tree of the list for every row written, once the list has three
 * values or more: a third of what a reminder's firing UPDATE cost.  The
 * same tests as OR chains are a few comparisons.  Every row already
 * satisfies the equivalent text, so it is edited in place (migrate.h).
 */
#define T3	"\t\t\t    "	/* how the earlier literals broke lines */

static const char v7_sql[] =
"DROP TRIGGER reminders_ack;"
"CREATE TRIGGER reminders_ack AFTER UPDATE OF acked_at ON reminders"
"	WHEN NEW.acked_at IS NOT NULL AND OLD.acked_at IS NULL"
"	AND (NEW.state = 'pending' OR NEW.state = 'fired'"
"	    OR NEW.state = 'snoozed')"
"	BEGIN UPDATE reminders SET state = 'acked' WHERE id = NEW.id; END;";

static const struct schema_edit v7_edits[] = {
	{ "customers", "status IN ('potential', 'intent', 'won', 'lost')",
	    "status = 'potential' OR status = 'intent' OR status = 'won'"
	    " OR status = 'lost'" },
	{ "customers", "level IN ('A', 'B', 'C')",
	    "level = 'A' OR level = 'B' OR level = 'C'" },
	{ "followups", "method IN ('phone'," T3 "'visit', 'wechat', 'email',"
	    " 'sms', 'meeting', 'other')",
	    "method = 'phone' OR method = 'visit' OR method = 'wechat'"
	    " OR method = 'email' OR method = 'sms' OR method = 'meeting'"
	    " OR method = 'other'" },
	{ "reminders", "kind IN ('followup', 'callback'," T3 "'renewal',"
	    " 'birthday', 'custom')",
	    "kind = 'followup' OR kind = 'callback' OR kind = 'renewal'"
	    " OR kind = 'birthday' OR kind = 'custom'" },
	{ "reminders", "state IN ('pending'," T3 "'fired', 'acked', 'snoozed',"
	    " 'cancelled', 'missed')",
	    "state = 'pending' OR state = 'fired' OR state = 'acked'"
	    " OR state = 'snoozed' OR state = 'cancelled' OR state = 'missed'" },
	/* The GLOB alternative that follows stays: all of it is ORs. */
	{ "reminders", "source IN ('crm'," T3 "'crmctl', 'plan', 'contract',"
	    " 'birthday', 'followup')",
	    "source = 'crm' OR source = 'crmctl' OR source = 'plan'"
	    " OR source = 'contract' OR source = 'birthday'"
	    " OR source = 'followup'" },
	{ "outbox", "channel IN ('email', 'sms', 'webhook')",
	    "channel = 'email' OR channel = 'sms' OR channel = 'webhook'" },
	{ "outbox", "state IN ('queued'," T3 "'sending', 'sent', 'dead')",
	    "state = 'queued' OR state = 'sending' OR state = 'sent'"
	    " OR state = 'dead'" },
	{ "change_log", "op IN ('insert', 'update', 'delete')",
	    "op = 'insert' OR op = 'update' OR op = 'delete'" },
	{ "rule_changes", "event IN ('customer_created'," T3 "'changed',"
	    " 'status_changed', 'tag_added'," T3 "'tag_removed', 'followup')",
	    "event = 'customer_created' OR event = 'changed'"
	    " OR event = 'status_changed' OR event = 'tag_added'"
	    " OR event = 'tag_removed' OR event = 'followup'" },
	{ NULL, NULL, NULL },
};

/*
 * v8: the outbox's due rows per channel.  The sender asks for one
 * channel's due rows; on (state, next_attempt_at) the channel was tested
 * row by row, so a backlog another channel could not send (its
 * destination down, its rate used up, not configured) was walked through
 * at every pass: 40,000 due SMS made each look at the unconfigured
 * webhook channel a 28 ms scan on the loop.  Counting and listing by
 * state use the index's first column as before.
 */
static const char v8_sql[] =
"DROP INDEX outbox_state_next;"
"CREATE INDEX outbox_due ON outbox(state, channel, next_attempt_at);";

/*
 * v9: the queued rows of a channel by age.  A message older than
 * outbox.lifetime goes dead even while its destination is down and it is
 * never attempted; the sender finds those, and the next to come of age,
 * here.  Partial: a row is in it only while queued, so a delivery adds
 * and removes one small entry, and sent rows cost nothing.
 *
 * And two optional email columns: the recipient's display name (To:
 * 张伟 <zhang@example.com>, RFC 2047) and an HTML alternative to the
 * text body.  Adding a nullable column rewrites no row.
 */
static const char v9_sql[] =
"CREATE INDEX outbox_queued_age ON outbox(channel, created_at)"
" WHERE state = 'queued';"
"ALTER TABLE outbox ADD COLUMN recipient_name TEXT;"
"ALTER TABLE outbox ADD COLUMN body_html TEXT;";

const struct migration schema_migrations[] = {
	{ 1, "initial schema", v1_sql, NULL, 0 },
	{ 2, "reminder scheduling", v2_sql, NULL, 0 },
	{ 3, "delivery", v3_sql, NULL, 0 },
	{ 4, "cheaper firing", v4_sql, NULL, 0 },
	{ 5, "automation rules", v5_sql, NULL, 0 },
	{ 6, "stale flags", v6_sql, NULL, 0 },
	{ 7, "checks without lookup tables", v7_sql, v7_edits, 0 },
	{ 8, "due rows per channel", v8_sql, NULL, 0 },
	{ 9, "outbox: queued rows by age, names, HTML", v9_sql, NULL, 0 },
};

const size_t schema_nmigrations =
    sizeof(schema_migrations) / sizeof(schema_migrations[0]);
