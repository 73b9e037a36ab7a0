-- one row per over-limit alarm (001/002) on a methane or CO point that started in [$history_start, $as_of_end)
with alarms as (
    select * from stg_alarms
    where alarm_type in ('001', '002')
),

calibration_alarms as (
    select mine_code, point_code, started_at, ended_at from stg_alarms
    where alarm_type = '007'
),

all_measures as (
    select mine_code, trim(measure) as measure from stg_alarms
    where trim(coalesce(measure, '')) <> ''
),

sensors as (
    select mine_code, point_code, sensor_type, area_code, location, alarm_high, cutoff_high, restore_high
    from stg_sensors
    where is_methane or is_co
),

links as (
    select mine_code, point_code, linked_point_code, linked_sensor_type from stg_sensor_links
),

switch_events as (
    select mine_code, point_code, changed_at, state from stg_switch_events
),

-- inlined where used, so each reader filters the big tables in its own pass
presence as not materialized (
    select mine_code, card_code, area_code, entered_at, left_at from stg_presence
),

sensor_stats as not materialized (
    select mine_code, point_code, period_start, period_end, max_value, max_at, status from stg_sensor_stats
),

gas_alarms as (
    select
        row_number() over (order by a.mine_code, a.point_code, a.alarm_type, a.started_at) as alarm_id,
        a.mine_code,
        a.point_code,
        a.alarm_type,
        a.started_at,
        a.ended_at,
        a.max_value as reported_max_value,
        nullif(trim(a.measure), '') as measure,
        a.entered_at,
        a._file_id,
        a._record,
        s.sensor_type,
        s.area_code,
        s.location,
        s.alarm_high,
        s.cutoff_high,
        s.restore_high,
        -- the relay must act within seconds of the cut threshold (AQ 1029); the window is generous on purpose
        a.started_at - interval 60 second as cut_from,
        a.started_at + interval 10 minute as cut_to,
        a.started_at - interval 30 minute as near_from,
        coalesce(a.ended_at, a.started_at) + interval 30 minute as near_to,
        -- an alarm still open at T: its final statistics are not known yet, so read them from the sensor
        coalesce(a.ended_at, least($as_of_end, a.started_at + interval 1 day)) as during_to
    from alarms as a
    inner join sensors as s on s.mine_code = a.mine_code and s.point_code = a.point_code
),

alarm_links as (
    select g.alarm_id, g.mine_code, l.linked_point_code, l.linked_sensor_type, g.cut_from, g.cut_to
    from gas_alarms as g
    inner join links as l on l.mine_code = g.mine_code and l.point_code = g.point_code
),

-- a switch's state when the window opens: its last change before, else the opposite of its next change, else
-- normal (1); read off one ordered pass over the linked switches' changes with the windows' openings mixed in
link_timeline as (
    select
        mine_code,
        linked_point_code as point_code,
        cut_from as event_at,
        1 as is_probe,
        alarm_id,
        linked_sensor_type,
        cast(null as integer) as state
    from alarm_links
    union all
    select
        e.mine_code,
        e.point_code,
        e.changed_at as event_at,
        0 as is_probe,
        null as alarm_id,
        null as linked_sensor_type,
        e.state
    from switch_events as e
    inner join (select distinct mine_code, linked_point_code from alarm_links) as l
        on l.mine_code = e.mine_code and l.linked_point_code = e.point_code
),

link_state_at_start as (
    select alarm_id, linked_sensor_type, coalesce(prev_state, 1 - next_state, 1) as state_at_start
    from (
        select
            *,
            -- a change at the very opening belongs to the window, so openings sort first on ties
            last_value(state ignore nulls) over (
                partition by mine_code, point_code order by event_at, is_probe desc
                rows between unbounded preceding and 1 preceding
            ) as prev_state,
            first_value(state ignore nulls) over (
                partition by mine_code, point_code order by event_at, is_probe desc
                rows between 1 following and unbounded following
            ) as next_state
        from link_timeline
    ) as t
    where is_probe = 1
),

link_changes as (
    select al.alarm_id, al.linked_sensor_type, e.changed_at, e.state
    from alarm_links as al
    inner join switch_events as e
        on e.mine_code = al.mine_code and e.point_code = al.linked_point_code
        and e.changed_at >= al.cut_from and e.changed_at <= al.cut_to
),

link_summary as (
    select
        alarm_id,
        min(linked_point_code) filter (where linked_sensor_type = '1009') as relay_point_code,
        min(linked_point_code) filter (where linked_sensor_type = '1011') as feed_point_code
    from alarm_links
    group by alarm_id
),

start_summary as (
    select
        alarm_id,
        bool_or(state_at_start = 0) filter (where linked_sensor_type = '1009') as is_relay_off_at_start,
        bool_or(state_at_start = 0) filter (where linked_sensor_type = '1011') as is_feed_off_at_start
    from link_state_at_start
    group by alarm_id
),

change_summary as (
    select
        alarm_id,
        min(changed_at) filter (where linked_sensor_type = '1009' and state = 0) as cut_at,
        bool_or(state = 0) filter (where linked_sensor_type = '1011') as is_feed_off_change
    from link_changes
    group by alarm_id
),

-- stays are bucketed by the day they began so the range join runs per area and day, not per area;
-- a stay lasts at most a day (below), so it began on the alarm's day or the day before
alarm_area_days as (
    select g.alarm_id, g.mine_code, g.area_code, g.started_at, cast(g.started_at as date) + o.k as day
    from gas_alarms as g
    cross join (values (-1), (0), (1)) as o (k)
    where g.area_code is not null
        and cast(g.started_at as date) + o.k <= cast(g.started_at + interval 30 minute as date)
),

-- a stay counts for its first 24 hours at most: a card that sits in one area longer (left behind, or lost
-- in an accident that is evidence for another family) says nothing about who was there at an alarm
stays as (
    select
        mine_code,
        card_code,
        area_code,
        entered_at,
        least(coalesce(left_at, $as_of_end), entered_at + interval 1 day) as left_at,
        cast(entered_at as date) as day
    from presence
),

alarm_stays as (
    select d.alarm_id, d.started_at, p.card_code, p.entered_at, p.left_at
    from alarm_area_days as d
    inner join stays as p on p.mine_code = d.mine_code and p.area_code = d.area_code and p.day = d.day
    where p.entered_at <= d.started_at + interval 30 minute and p.left_at > d.started_at
),

alarm_cards as (
    select
        alarm_id,
        card_code,
        bool_or(entered_at <= started_at and left_at > started_at) as is_at_start,
        bool_or(entered_at <= started_at + interval 5 minute and left_at > started_at + interval 5 minute)
            as is_at_5m,
        bool_or(entered_at <= started_at + interval 15 minute and left_at > started_at + interval 15 minute)
            as is_at_15m,
        bool_or(entered_at <= started_at + interval 30 minute and left_at > started_at + interval 30 minute)
            as is_at_30m,
        max(left_at) filter (where entered_at <= started_at and left_at > started_at) as left_at,
        min(started_at) as started_at
    from alarm_stays
    group by alarm_id, card_code
),

people_summary as (
    select
        alarm_id,
        count(*) filter (where is_at_start) as people_at_start,
        count(*) filter (where is_at_5m) as people_at_5m,
        count(*) filter (where is_at_15m) as people_at_15m,
        count(*) filter (where is_at_30m) as people_at_30m,
        -- open stays count as present until T (or a day after they began): then a lower bound
        max(date_diff('second', started_at, left_at)) filter (where is_at_start) / 60.0 as minutes_to_empty,
        -- stayed: never left; a card that left and came back after power returned was evacuated
        bool_or(left_at > started_at + interval 30 minute) filter (where is_at_start) as is_someone_stayed
    from alarm_cards
    group by alarm_id
),

-- sensor periods are bucketed by their start day; a period is assumed to last less than a day
alarm_stat_days as (
    select
        g.alarm_id,
        g.mine_code,
        g.point_code,
        g.started_at,
        g.ended_at,
        g.near_from,
        g.near_to,
        g.during_to,
        cast(d.day as date) as day
    from gas_alarms as g
    cross join lateral unnest(
        range(
            cast(cast(g.near_from as date) - 1 as timestamp),
            cast(greatest(g.near_to, g.during_to) as date) + interval 1 day,
            interval 1 day
        )
    ) as d (day)
),

-- a one-column pre-filter is much cheaper on the big table than the full join key
alarm_point_stats as not materialized (
    select * from sensor_stats
    where point_code in (select point_code from gas_alarms)
),

alarm_periods as (
    select
        d.alarm_id,
        d.started_at,
        d.ended_at,
        d.near_from,
        d.near_to,
        d.during_to,
        s.period_start,
        s.period_end,
        s.max_value,
        s.max_at,
        s.status
    from alarm_stat_days as d
    inner join alarm_point_stats as s
        on s.mine_code = d.mine_code and s.point_code = d.point_code and cast(s.period_start as date) = d.day
    where s.period_start < greatest(d.near_to, d.during_to) and s.period_end > d.near_from
),

stat_summary as (
    select
        alarm_id,
        bool_or((status & 68) <> 0) filter (where period_start < near_to and period_end > near_from)
            as is_status_calibration,
        max(max_value) filter (where period_start < during_to and period_end > started_at) as max_during,
        -- after close: periods that began after it, or straddle it with their maximum after it
        max(max_value) filter (
            where period_start < ended_at + interval 30 minute and period_end > ended_at
            and (period_start >= ended_at or max_at >= ended_at)
        ) as max_after_close
    from alarm_periods
    group by alarm_id
),

calibration_overlaps as (
    select distinct g.alarm_id
    from gas_alarms as g
    inner join calibration_alarms as c on c.mine_code = g.mine_code and c.point_code = g.point_code
    where c.started_at <= g.near_to and coalesce(c.ended_at, c.started_at) >= g.near_from
),

measure_counts as (
    select mine_code, measure, count(*) as n_alarms
    from all_measures
    group by all
),

joined as (
    select
        g.*,
        case when g.ended_at is not null then g.reported_max_value else st.max_during end as max_value,
        ls.relay_point_code,
        ls.feed_point_code,
        cs.cut_at,
        coalesce(ss.is_relay_off_at_start, false) as is_relay_off_at_start,
        coalesce(ss.is_feed_off_at_start, false) as is_feed_off_at_start,
        coalesce(cs.is_feed_off_change, false) as is_feed_off_change,
        ps.people_at_start,
        ps.people_at_5m,
        ps.people_at_15m,
        ps.people_at_30m,
        ps.minutes_to_empty,
        ps.is_someone_stayed,
        st.max_after_close,
        coalesce(st.is_status_calibration, false) or co.alarm_id is not null as is_calibration_near,
        coalesce(mc.n_alarms - 1, 0) as measure_reuse_count
    from gas_alarms as g
    left join link_summary as ls on ls.alarm_id = g.alarm_id
    left join start_summary as ss on ss.alarm_id = g.alarm_id
    left join change_summary as cs on cs.alarm_id = g.alarm_id
    left join people_summary as ps on ps.alarm_id = g.alarm_id
    left join stat_summary as st on st.alarm_id = g.alarm_id
    left join calibration_overlaps as co on co.alarm_id = g.alarm_id
    left join measure_counts as mc on mc.mine_code = g.mine_code and mc.measure = g.measure
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(point_code as varchar) as point_code,
        cast(alarm_type as varchar) as alarm_type,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        cast(started_at >= $window_start as boolean) as is_in_window,
        cast(ended_at is null as boolean) as is_open,
        cast(sensor_type as varchar) as sensor_type,
        cast(area_code as varchar) as area_code,
        cast(location as varchar) as location,
        cast(alarm_high as double) as alarm_high,
        cast(cutoff_high as double) as cutoff_high,
        cast(restore_high as double) as restore_high,
        cast(max_value as double) as max_value,
        cast(max_value >= cutoff_high as boolean) as needs_cut,
        cast(relay_point_code as varchar) as relay_point_code,
        cast(feed_point_code as varchar) as feed_point_code,
        cast(cut_at as timestamp) as cut_at,
        cast((epoch_ms(cut_at) - epoch_ms(started_at)) / 1000.0 as double) as seconds_to_cut,
        cast(case when relay_point_code is not null then is_relay_off_at_start end as boolean)
            as is_relay_off_at_start,
        cast(
            case
                when relay_point_code is null then null
                else max_value >= cutoff_high and cut_at is null and not is_relay_off_at_start
            end as boolean
        ) as is_cut_missing,
        cast(case when feed_point_code is not null then is_feed_off_change end as boolean) as is_feed_confirmed,
        cast(
            case
                when feed_point_code is null then null
                else cut_at is not null and not is_feed_off_change and not is_feed_off_at_start
            end as boolean
        ) as is_feed_contradicts,
        cast(case when area_code is not null then coalesce(people_at_start, 0) end as integer) as people_at_start,
        cast(case when area_code is not null then coalesce(people_at_5m, 0) end as integer) as people_at_5m,
        cast(case when area_code is not null then coalesce(people_at_15m, 0) end as integer) as people_at_15m,
        cast(case when area_code is not null then coalesce(people_at_30m, 0) end as integer) as people_at_30m,
        cast(minutes_to_empty as double) as minutes_to_empty,
        cast(
            case
                when area_code is not null then max_value >= cutoff_high and coalesce(is_someone_stayed, false)
            end
            as boolean
        ) as is_people_stayed,
        cast(max_after_close as double) as max_after_close,
        cast(max_after_close >= alarm_high as boolean) as is_gas_high_after_close,
        cast(is_calibration_near as boolean) as is_calibration_near,
        cast(measure is null as boolean) as is_measure_missing,
        cast(measure_reuse_count as integer) as measure_reuse_count,
        cast(date_diff('second', ended_at, entered_at) / 60.0 as double) as entry_delay_minutes,
        cast(date_diff('second', started_at, ended_at) / 60.0 as double) as duration_minutes,
        cast(_file_id as bigint) as _file_id,
        cast(_record as bigint) as _record
    from joined
)

select * from final
