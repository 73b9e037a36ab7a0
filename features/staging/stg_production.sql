-- one row per belt-scale point and period that ended by $as_of_end, in the history and current windows
with source as (
    select * from production
    where period_end <= $as_of_end and period_start >= $history_start
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(point_code as varchar) as point_code,
        cast(period_start as timestamp) as period_start,
        cast(period_end as timestamp) as period_end,
        cast(greatest(tonnes, 0) as double) as tonnes
    from source
)

select * from final
