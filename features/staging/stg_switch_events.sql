-- one row per state change of a switch point before $as_of_end
-- materialized: view
select
    cast(mine_code as varchar) as mine_code,
    cast(point_code as varchar) as point_code,
    cast(changed_at as timestamp) as changed_at,
    cast(state as integer) as state,
    _file_id,
    _record
from switch_events
where changed_at < $as_of_end
