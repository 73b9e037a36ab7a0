-- one row per analog methane or CO point with sensor statistics in the window [$window_start, $as_of_end)
with sensors as (
    select mine_code, point_code, sensor_type, area_code, alarm_high
    from stg_sensors
    where value_type = 'MN' and (is_methane or is_co)
),

workfaces as (
    select mine_code, face_code, area_code from stg_workfaces
    where declared_to is null or declared_to >= cast($window_start as date)
),

power as (
    select mine_code, face_code, interval_end, kwh from stg_power
    where face_code is not null
),

-- inlined where used, so each reader filters the big table in its own single pass
sensor_stats as not materialized (
    select mine_code, point_code, period_start, period_end, avg_value, max_value, status from stg_sensor_stats
),

area_faces as (
    select mine_code, area_code, min(face_code) as face_code
    from workfaces
    group by all
),

points as (
    select
        row_number() over (order by s.mine_code, s.point_code) as point_id,
        s.mine_code,
        s.point_code,
        s.sensor_type,
        s.area_code,
        s.alarm_high,
        f.face_code
    from sensors as s
    left join area_faces as f on f.mine_code = s.mine_code and f.area_code = s.area_code
),

-- a one-column pre-filter is much cheaper on the big table than the full join key
gas_stats as not materialized (
    select * from sensor_stats
    where point_code in (select point_code from points)
),

window_rows as (
    select p.point_id, st.period_start, st.period_end, st.avg_value, st.max_value, st.status, p.alarm_high
    from gas_stats as st
    inner join points as p on p.mine_code = st.mine_code and p.point_code = st.point_code
    where st.period_start >= $window_start
),

history_means as (
    select mine_code, point_code, avg(avg_value) as history_mean, count(*) as n_history_periods
    from gas_stats
    where period_start < $window_start
    group by all
),

-- only the few columns the ordered pass needs go through the sort
lagged as (
    select
        point_id,
        period_start,
        period_end,
        avg_value,
        lag(avg_value) over w as prev_avg_value,
        lag(period_end) over w as prev_period_end
    from window_rows
    window w as (partition by point_id order by period_start)
),

flagged as (
    select
        point_id,
        period_start,
        period_end,
        prev_period_end,
        prev_avg_value = avg_value as is_repeated,
        -- a gap in the periods (an outage) ends a flat run
        coalesce(prev_avg_value = avg_value and prev_period_end = period_start, false) as is_flat_continued
    from lagged
),

window_summary as (
    select
        point_id,
        count(*) as n_periods,
        max(period_end) as last_period_end,
        -- values capped just under the alarm limit look like a sensor held below it
        avg(
            case
                when alarm_high is null then null
                when max_value >= 0.85 * alarm_high and max_value < alarm_high then 1.0
                else 0.0
            end
        ) as share_near_threshold,
        avg(case when alarm_high is null then null when max_value >= alarm_high then 1.0 else 0.0 end)
            as share_over_alarm,
        count(*) filter (where (status & 4) <> 0) as calibration_periods,
        count(*) filter (where (status & 64) <> 0) as pause_periods,
        count(*) filter (where (status & 144) <> 0) as fault_periods,
        sum(date_diff('second', period_start, period_end)) filter (where (status & 64) <> 0) / 3600.0 as pause_hours,
        -- the highest reading of ordinary periods (no calibration, over-range, fault, skipped poll or pause)
        max(max_value) filter (where (status & 252) = 0) as ceiling_value,
        avg(avg_value) as mean_value,
        max(max_value) as peak_value,
        min(avg_value) = max(avg_value) as is_flat_all_window
    from window_rows
    group by point_id
),

-- separate runs of ordinary periods that peak at exactly the point's ceiling: a sensor held under a cap
-- reaches the same ceiling in every gas event, a free one reaches its highest value once
ceiling_rows as (
    select
        r.point_id,
        r.max_value = w.ceiling_value as is_at_ceiling,
        lag(r.max_value = w.ceiling_value) over (partition by r.point_id order by r.period_start) as prev_at_ceiling,
        w.ceiling_value,
        r.alarm_high
    from window_rows as r
    inner join window_summary as w on w.point_id = r.point_id
    where (r.status & 252) = 0
),

ceiling_summary as (
    select point_id, count(*) filter (where is_at_ceiling and not coalesce(prev_at_ceiling, false)) as ceiling_runs
    from ceiling_rows
    -- only a ceiling between half the alarm level and the alarm level is a cap (a flat zero is not)
    where ceiling_value >= 0.5 * alarm_high and ceiling_value < alarm_high
    group by point_id
),

repeat_summary as (
    select point_id, avg(cast(is_repeated as double)) as share_repeated
    from flagged
    group by point_id
),

-- a flat run ends where the next begins: that row's previous period is the run's last
run_ends as (
    select
        point_id,
        period_end as first_period_end,
        lead(prev_period_end) over (partition by point_id order by period_start) as run_end
    from flagged
    where not is_flat_continued
),

longest_flat as (
    select
        r.point_id,
        max(date_diff('second', r.first_period_end, coalesce(r.run_end, w.last_period_end))) / 3600.0
            as longest_flat_hours
    from run_ends as r
    inner join window_summary as w on w.point_id = r.point_id
    group by r.point_id
),

point_hours as (
    select
        p.mine_code,
        p.face_code,
        f.point_id,
        date_trunc('hour', f.period_start) as hour_at,
        avg(f.avg_value) as value
    from window_rows as f
    inner join points as p on p.point_id = f.point_id
    where p.face_code is not null
    group by all
),

face_hours as (
    select mine_code, face_code, date_trunc('hour', interval_end - interval 15 minute) as hour_at, sum(kwh) as kwh
    from power
    where interval_end > $window_start
    group by all
),

face_medians as (
    select mine_code, face_code, median(kwh) as median_kwh
    from face_hours
    group by all
),

correlations as (
    select
        ph.point_id,
        case when stddev_pop(ph.value) > 0 and stddev_pop(fh.kwh) > 0 then corr(ph.value, fh.kwh) end
            as corr_with_face_power
    from point_hours as ph
    inner join face_hours as fh
        on fh.mine_code = ph.mine_code and fh.face_code = ph.face_code and fh.hour_at = ph.hour_at
    group by ph.point_id
),

-- calibration or pause while the face draws more than its median power: when gas would rise
calibration_producing as (
    select
        f.point_id,
        avg(
            case
                when fm.median_kwh is null then null
                when coalesce(fh.kwh, 0) > fm.median_kwh then 1.0
                else 0.0
            end
        ) as share_calibration_while_producing
    from window_rows as f
    inner join points as p on p.point_id = f.point_id
    left join face_medians as fm on fm.mine_code = p.mine_code and fm.face_code = p.face_code
    left join face_hours as fh
        on fh.mine_code = p.mine_code and fh.face_code = p.face_code
        and fh.hour_at = date_trunc('hour', f.period_start)
    where (f.status & 68) <> 0 and p.face_code is not null
    group by f.point_id
),

final as (
    select
        cast(p.mine_code as varchar) as mine_code,
        cast(p.point_code as varchar) as point_code,
        cast(p.sensor_type as varchar) as sensor_type,
        cast(p.area_code as varchar) as area_code,
        cast(p.face_code as varchar) as face_code,
        cast(p.face_code is not null as boolean) as is_face_point,
        cast(p.alarm_high as double) as alarm_high,
        cast(ws.n_periods as integer) as n_periods,
        cast(coalesce(hm.n_history_periods, 0) as integer) as n_history_periods,
        cast(ws.mean_value as double) as mean_value,
        cast(ws.peak_value as double) as peak_value,
        cast(ws.peak_value / nullif(p.alarm_high, 0) as double) as peak_to_alarm_ratio,
        cast(rs.share_repeated as double) as share_repeated,
        cast(lf.longest_flat_hours as double) as longest_flat_hours,
        cast(ws.share_near_threshold as double) as share_near_threshold,
        cast(ws.share_over_alarm as double) as share_over_alarm,
        cast(ws.calibration_periods as integer) as calibration_periods,
        cast(ws.pause_periods as integer) as pause_periods,
        cast(ws.fault_periods as integer) as fault_periods,
        cast(coalesce(ws.pause_hours, 0) as double) as pause_hours,
        cast(coalesce(cs.ceiling_runs, 0) as integer) as ceiling_runs,
        cast(cp.share_calibration_while_producing as double) as share_calibration_while_producing,
        cast(c.corr_with_face_power as double) as corr_with_face_power,
        cast(ws.mean_value / nullif(hm.history_mean, 0) as double) as level_ratio_vs_history,
        cast(ws.is_flat_all_window as boolean) as is_flat_all_window
    from points as p
    inner join window_summary as ws on ws.point_id = p.point_id
    left join repeat_summary as rs on rs.point_id = p.point_id
    left join longest_flat as lf on lf.point_id = p.point_id
    left join history_means as hm on hm.mine_code = p.mine_code and hm.point_code = p.point_code
    left join correlations as c on c.point_id = p.point_id
    left join calibration_producing as cp on cp.point_id = p.point_id
    left join ceiling_summary as cs on cs.point_id = p.point_id
)

select * from final
