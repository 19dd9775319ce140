-- Demo data for the development config (conf/crmd-dev.conf: demo_data).
-- crmd loads it once, into a database that has no customers yet, in one
-- transaction.  Times are relative to the moment it is loaded, so a new
-- user sees reminders fire in the first minutes.
INSERT INTO users (id, name, email, phone, manager_id, region) VALUES
  (1, '刘洋', 'liuyang@example.com', '+8613800000001', NULL, '华东'),
  (2, '张伟', 'zhangwei@example.com', '+8613800000002', 1, '华东'),
  (3, '李娜', 'lina@example.com', '+8613800000003', 1, '华南'),
  (4, '王磊', 'wanglei@example.com', '+8613800000004', 1, '华南');

INSERT INTO customers (id, code, name, kind, status, level, industry, source,
    region, owner_id, phone, email, birthday) VALUES
  (1, '202611-0001', '上海明远科技有限公司', 'company', 'intent', 'A', '软件',
      '展会', '华东', 2, '021-55550001', 'contact@mingyuan.example', NULL),
  (2, '202611-0002', '深圳华南贸易有限公司', 'company', 'potential', 'B', '贸易',
      '官网注册', '华南', 3, '0755-5550002', NULL, NULL),
  (3, '202611-0003', '王芳', 'person', 'won', 'C', '教育', '转介绍', '华东', 2,
      '+8613900000003', 'wangfang@example.com',
      strftime('%m-%d', 'now', 'localtime', '+1 day'));

INSERT INTO contacts (customer_id, name, title, phone, is_primary) VALUES
  (1, '陈静', '采购经理', '+8613700000001', 1),
  (2, '黄磊', '总经理', '+8613700000002', 1);

-- A contract ending in 10 days: its renewal reminder (30 days before) is
-- due at once; one ending in 45 days is reminded in 15 days at 09:30.
INSERT INTO contracts (customer_id, title, start_date, end_date, amount) VALUES
  (1, '年度软件服务合同', date('now', '-355 days'), date('now', '+10 days'),
      12000000),
  (2, '试用合同', date('now', '-15 days'), date('now', '+45 days'), 0);

-- A one-off follow-up due a minute after start, with email as well.
INSERT INTO reminders (customer_id, user_id, kind, due_at, channels, note)
VALUES (1, 2, 'followup', CAST(strftime('%s', 'now') AS INTEGER) + 60,
    'inapp,email', '确认报价单并约下周拜访');

-- A follow-up record whose next follow-up is in two minutes.
INSERT INTO followups (customer_id, user_id, at, method, content, feedback,
    next_action, next_followup_at) VALUES
  (2, 3, CAST(strftime('%s', 'now') AS INTEGER) - 86400, 'phone',
      '介绍产品方案', '对价格有顾虑', '发送优惠方案',
      CAST(strftime('%s', 'now') AS INTEGER) + 120);

-- A weekly follow-up plan for the A-level customer, every Monday 10:00.
INSERT INTO followup_plans (customer_id, user_id, name, rrule, dtstart)
VALUES (1, 2, '意向客户每周回访', 'FREQ=WEEKLY;BYDAY=MO',
    CAST(strftime('%s', date('now', 'localtime') || ' 02:00:00') AS INTEGER));

-- Orders: 上海明远 ordered three times in the last two months, ¥150,000 in
-- all, so the rules 高频复购 and 高价值客户 (crmd-dev.conf) tag it at start;
-- `crmctl tags 1` and `crmctl log --customer 1` show it.
INSERT INTO orders (customer_id, amount, ordered_at) VALUES
  (1, 5000000, CAST(strftime('%s', 'now') AS INTEGER) - 50 * 86400),
  (1, 6000000, CAST(strftime('%s', 'now') AS INTEGER) - 20 * 86400),
  (1, 4000000, CAST(strftime('%s', 'now') AS INTEGER) - 3 * 86400),
  (2, 300000, CAST(strftime('%s', 'now') AS INTEGER) - 10 * 86400);
