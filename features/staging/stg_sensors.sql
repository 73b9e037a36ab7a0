-- one row per measuring point, with the methane limits of AQ 1029 where the point gives none
with source as (
    select * from sensors
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(point_code as varchar) as point_code,
        cast(sensor_type as varchar) as sensor_type,
        cast(value_type as varchar) as value_type,
        cast(location as varchar) as location,
        cast(area_code as varchar) as area_code,
        cast(sensor_type in ('0001', '0043') as boolean) as is_methane,
        cast(sensor_type = '0004' as boolean) as is_co,
        cast(coalesce(alarm_high, case when sensor_type in ('0001', '0043') then 1.0 end) as double) as alarm_high,
        cast(coalesce(cutoff_high, alarm_high, case when sensor_type in ('0001', '0043') then 1.5 end) as double)
            as cutoff_high,
        cast(coalesce(restore_high, alarm_clear_high, alarm_high) as double) as restore_high,
        cast(range_high as double) as range_high,
        _file_id,
        _record
    from source
)

select * from final
