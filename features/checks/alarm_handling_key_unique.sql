-- one row per alarm key (mine, point, type, start) that appears more than once in alarm_handling
with alarms as (
    select mine_code, point_code, alarm_type, started_at from alarm_handling
),

final as (
    select mine_code, point_code, alarm_type, started_at, count(*) as n_rows
    from alarms
    group by all
    having count(*) > 1
)

select * from final
