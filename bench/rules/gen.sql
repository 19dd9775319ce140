-- The rules benchmark's dataset, for the sqlite3 shell, into a database
-- crmd has just created (schema current, no rows): 200 users, 1,000,000
-- customers, 5,000,000 orders over two years, 2,000,000 follow-ups over
-- a year, 300,000 contracts and 600,000 tags on 20 tag names.  Times are
-- relative to now, so the rules' windows (90 days, 365 days, 30 days)
-- cut through the data.  random() makes each run different; the
-- benchmark compares crmd with the shell on the same file, so that
-- does not matter.  About 3 minutes on 2 cores.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
PRAGMA foreign_keys = OFF;
PRAGMA cache_size = -262144;
CREATE TEMP TABLE t0(now INTEGER);
INSERT INTO t0 VALUES (CAST(strftime('%s', 'now') AS INTEGER));
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO users(id, name, region)
SELECT i, '销售' || i, CASE i % 3 WHEN 0 THEN '华东' WHEN 1 THEN '华南'
    ELSE '华北' END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 1000000)
INSERT INTO customers(id, code, name, kind, status, level, industry, source,
    region, owner_id, created_at, updated_at)
SELECT i, printf('202401-%07d', i), '客户' || i,
    CASE WHEN i % 5 = 0 THEN 'person' ELSE 'company' END,
    CASE abs(random()) % 4 WHEN 0 THEN 'potential' WHEN 1 THEN 'intent'
        WHEN 2 THEN 'won' ELSE 'lost' END,
    CASE abs(random()) % 4 WHEN 0 THEN 'A' WHEN 1 THEN 'B' WHEN 2 THEN 'C'
        ELSE NULL END,
    CASE abs(random()) % 5 WHEN 0 THEN '制造' WHEN 1 THEN '零售'
        WHEN 2 THEN '金融' WHEN 3 THEN '教育' ELSE NULL END,
    CASE abs(random()) % 3 WHEN 0 THEN '官网' WHEN 1 THEN '展会'
        ELSE '转介绍' END,
    CASE abs(random()) % 4 WHEN 0 THEN '华东' WHEN 1 THEN '华南'
        WHEN 2 THEN '华北' ELSE NULL END,
    CASE WHEN i % 50 = 0 THEN NULL ELSE 1 + abs(random()) % 200 END,
    (SELECT now FROM t0) - abs(random()) % (3 * 365 * 86400),
    (SELECT now FROM t0)
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 5000000)
INSERT INTO orders(customer_id, amount, ordered_at)
SELECT 1 + abs(random()) % 1000000, abs(random()) % 10000000,
    (SELECT now FROM t0) - abs(random()) % (2 * 365 * 86400) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 2000000)
INSERT INTO followups(customer_id, user_id, at)
SELECT 1 + abs(random()) % 1000000, 1 + abs(random()) % 200,
    (SELECT now FROM t0) - abs(random()) % (365 * 86400) FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 300000)
INSERT INTO contracts(customer_id, start_date, end_date)
SELECT 1 + abs(random()) % 1000000, date('now', '-400 days'),
    date('now', '-100 days', '+' || (abs(random()) % 900) || ' days') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO tags(id, name) SELECT i, '标签' || i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
    WHERE i < 600000)
INSERT OR IGNORE INTO customer_tags(customer_id, tag_id)
SELECT 1 + abs(random()) % 1000000, 1 + abs(random()) % 20 FROM n;
-- The triggers logged every row for crmd; this is a new database.
DELETE FROM change_log;
DELETE FROM rule_changes;
COMMIT;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
