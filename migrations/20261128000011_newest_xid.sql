-- The highest transaction id there can be: the open end of "every fact
-- past the fold's mark". Reports bound the mark's side and this one,
-- because PostgreSQL estimates a bounded range of a column at 0.5 % of its
-- rows, and an open inequality against a value it does not know yet (the
-- mark, read in the same statement) at a third: enough to scan the whole
-- table rather than read the few rows past the mark from its index.
create function newest_xid() returns xid8
    language sql immutable parallel safe
    return '18446744073709551615'::xid8;
