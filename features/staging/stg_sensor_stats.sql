-- one row per point and period that ended by $as_of_end, in the history and current windows
-- materialized: view
select
    cast(mine_code as varchar) as mine_code,
    cast(point_code as varchar) as point_code,
    cast(period_start as timestamp) as period_start,
    cast(period_end as timestamp) as period_end,
    cast(avg_value as double) as avg_value,
    cast(max_value as double) as max_value,
    cast(max_at as timestamp) as max_at,
    cast(min_value as double) as min_value,
    cast(coalesce(status, 0) as integer) as status,
    _file_id,
    _record
from sensor_stats
where period_end <= $as_of_end and period_start >= $history_start
