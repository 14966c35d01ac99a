INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b;c'), (3, $$d$$), (4, E'e\n');
INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 10) g ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v;
WITH moved AS (DELETE FROM t WHERE id < 2 RETURNING *) INSERT INTO t_old SELECT * FROM moved;
