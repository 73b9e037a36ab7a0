-- one row per alarm that started in the history or current window, as known at $as_of_end
with source as (
    select * from alarms
    where started_at < $as_of_end and started_at >= $history_start
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(point_code as varchar) as point_code,
        cast(alarm_type as varchar) as alarm_type,
        cast(started_at as timestamp) as started_at,
        cast(case when ended_at < $as_of_end then ended_at end as timestamp) as ended_at,
        -- the stored statistics are the final ones: an alarm still open at T has none known yet
        cast(case when ended_at < $as_of_end then max_value end as double) as max_value,
        cast(case when ended_at < $as_of_end then avg_value end as double) as avg_value,
        -- what the duty officer entered is known only once entered
        cast(case when entered_at < $as_of_end then cause end as varchar) as cause,
        cast(case when entered_at < $as_of_end then measure end as varchar) as measure,
        cast(case when entered_at < $as_of_end then entered_at end as timestamp) as entered_at,
        cast(case when entered_at < $as_of_end then entered_by end as varchar) as entered_by,
        _file_id,
        _record
    from source
)

select * from final
