-- one row per accident report filed before $as_of_end
with source as (
    select * from accident_reports
    where reported_at < $as_of_end
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(report_id as varchar) as report_id,
        cast(occurred_at as timestamp) as occurred_at,
        cast(reported_at as timestamp) as reported_at,
        cast(kind as varchar) as kind,
        cast(coalesce(deaths, 0) as integer) as deaths,
        cast(coalesce(injuries, 0) as integer) as injuries
    from source
)

select * from final
