-- one row per meter and 15-minute interval that ended by $as_of_end, in the history and current windows
with source as (
    select * from power
    where interval_end <= $as_of_end and interval_end > $history_start
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(meter_code as varchar) as meter_code,
        cast(circuit as varchar) as circuit,
        cast(face_code as varchar) as face_code,
        cast(interval_end as timestamp) as interval_end,
        -- the day an interval belongs to is the day it started in
        cast(interval_end - interval 15 minute as date) as day,
        cast(hour(interval_end - interval 15 minute) as integer) as hour,
        cast(kwh as double) as kwh
    from source
)

select * from final
