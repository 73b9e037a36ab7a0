-- one row per mine and reported day in the history and current windows
with source as (
    select * from production_reports
    where date <= $as_of and date >= cast($history_start as date)
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(date as date) as day,
        cast(reported_tonnes as double) as reported_tonnes
    from source
)

select * from final
