-- one row per stay in an area that began in the history or current window (left_at as known at $as_of)
with source as (
    select * from presence
    where entered_at < $as_of_end and entered_at >= $history_start
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(card_code as varchar) as card_code,
        cast(area_code as varchar) as area_code,
        cast(station_code as varchar) as station_code,
        cast(entered_at as timestamp) as entered_at,
        cast(case when left_at < $as_of_end then left_at end as timestamp) as left_at,
        _file_id,
        _record
    from source
)

select * from final
