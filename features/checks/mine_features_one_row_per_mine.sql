-- one row per mine_code and as_of that appears more than once, or a registered mine missing at $as_of
with counted as (
    select mine_code, as_of, count(*) as n_rows
    from mine_features
    where as_of = $as_of
    group by all
)

select mine_code, as_of, n_rows, 'duplicate' as problem from counted where n_rows > 1
union all
select m.mine_code, $as_of as as_of, 0 as n_rows, 'missing' as problem
from stg_mines as m
anti join counted as c using (mine_code)
