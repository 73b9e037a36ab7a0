-- one row per alarm_handling row whose values break the table's own rules
with alarms as (
    select * from alarm_handling
),

final as (
    select mine_code, point_code, alarm_type, started_at, _file_id, _record
    from alarms
    where started_at < $history_start or started_at >= $as_of_end
        or ended_at >= $as_of_end
        or seconds_to_cut < -60 or seconds_to_cut > 600
        or least(people_at_start, people_at_5m, people_at_15m, people_at_30m) < 0
        or minutes_to_empty < 0
        or (minutes_to_empty is not null and not people_at_start > 0)
        or measure_reuse_count < 0
        or (relay_point_code is null and is_cut_missing is not null)
        or (feed_point_code is null and (is_feed_confirmed is not null or is_feed_contradicts is not null))
        or (is_cut_missing and seconds_to_cut is not null)
        or is_in_window is null
        or is_calibration_near is null
)

select * from final
