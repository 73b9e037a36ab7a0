-- one row per sensor_behaviour point whose shares, counts or correlation are out of range, or that repeats
with points as (
    select * from sensor_behaviour
),

duplicates as (
    select mine_code, point_code
    from points
    group by all
    having count(*) > 1
),

final as (
    select mine_code, point_code, 'out of range' as problem
    from points
    where n_periods < 1
        or share_repeated not between 0 and 1
        or share_near_threshold not between 0 and 1
        or share_over_alarm not between 0 and 1
        or share_calibration_while_producing not between 0 and 1
        or corr_with_face_power not between -1.000001 and 1.000001
        or longest_flat_hours < 0
        or pause_hours < 0
        or ceiling_runs < 0
        or ceiling_runs > n_periods
        or least(calibration_periods, pause_periods, fault_periods) < 0
        or greatest(calibration_periods, pause_periods, fault_periods) > n_periods
        or is_face_point <> (face_code is not null)
    union all
    select mine_code, point_code, 'duplicate point' as problem
    from duplicates
)

select * from final
