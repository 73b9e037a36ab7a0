-- one row per trip underground that began in the history or current window (up_at as known at $as_of)
with source as (
    select * from shaft_trips
    where down_at < $as_of_end and down_at >= $history_start
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(card_code as varchar) as card_code,
        cast(down_at as timestamp) as down_at,
        cast(case when up_at < $as_of_end then up_at end as timestamp) as up_at,
        cast(
            date_diff('second', down_at, coalesce(case when up_at < $as_of_end then up_at end, $as_of_end))
            / 3600.0 as double
        ) as trip_hours,
        cast(up_at is null or up_at >= $as_of_end as boolean) as is_open,
        _file_id,
        _record
    from source
)

select * from final
