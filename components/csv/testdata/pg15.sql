SELECT * FROM (VALUES
 (1, E'tab\there', '\x0001ff'::bytea),
 (2, E'nl\ncr\rbs\\bk\bff\fvt' || chr(11), ''::bytea),
 (3, NULL, NULL),
 (4, '', '\x5c22'::bytea),
 (5, 'Unicode żółć 🦀', '\x41'::bytea),
 (6, '\N', NULL),
 (7, '\.', NULL),
 (8, ' lead', NULL),
 (9, 'a,"b"', NULL),
 (10, (select string_agg(chr(i),'') from generate_series(1,31) i) || chr(127), (select decode(string_agg(lpad(to_hex(i),2,'0'),''),'hex') from generate_series(0,255) i))
) t(id, a, b)
