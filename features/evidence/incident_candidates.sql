-- one row per candidate incident (open or very late shaft trips per mine, kind and day; abrupt face-power stops) with event_at in [$history_start, $as_of_end)
-- Kinds: open_trip (no up_at, went down more than 24 h before $as_of_end), late_trip (came up 16 h or
-- more after going down), both grouped per mine and calendar day of down_at; face_stop (a face meter's
-- daily kWh below 20 % of its trailing 7-day median after 7 producing days); crew_exit (two or more
-- cards that came up mid-shift within 30 minutes of each other: an accident sends the crew up, and so
-- does a long breakdown, but then everyone comes back on a later shift). The evidence columns are
-- what an inspector checks: the cards, the roster, gas just before, power and belt after, the reports.
with trips as (
    select mine_code, card_code, down_at, up_at, trip_hours, is_open, _file_id, _record from stg_shaft_trips
),

presence as (
    select mine_code, card_code, area_code, entered_at, left_at from stg_presence
),

people as (
    select mine_code, card_code, deregistered_on from stg_people
),

workfaces as (
    select mine_code, face_code, area_code, declared_from, declared_to from stg_workfaces
),

gas_points as (
    select mine_code, point_code, area_code, is_co, is_methane from stg_sensors where is_co or is_methane
),

sensor_stats as (
    select mine_code, point_code, period_start, period_end, avg_value, max_value from stg_sensor_stats
),

power as (
    select mine_code, meter_code, face_code, interval_end, day, kwh from stg_power
),

production as (
    select mine_code, period_start, tonnes from stg_production
),

accident_reports as (
    select mine_code, occurred_at from stg_accident_reports
),

declarations as (
    select mine_code, start_date, end_date, face_code, is_filed_late from stg_declarations
),

flagged_trips as (
    select
        *,
        case when is_open then 'open_trip' else 'late_trip' end as kind
    from trips
    -- a day without coming up is not a long shift; 16 h is two full shifts back to back
    where (is_open and down_at < $as_of_end - interval 24 hour) or (not is_open and trip_hours >= 16)
),

flagged_cards as (
    select distinct mine_code, card_code from flagged_trips
),

card_trips as (
    select
        t.mine_code,
        t.card_code,
        t.down_at,
        lead(t.down_at) over (partition by t.mine_code, t.card_code order by t.down_at) as next_down_at
    from trips as t
    inner join flagged_cards as c on c.mine_code = t.mine_code and c.card_code = t.card_code
),

flagged as (
    select
        f.*,
        n.next_down_at,
        coalesce(f.up_at, least(coalesce(n.next_down_at, $as_of_end), $as_of_end)) as trip_end,
        -- never seen again, or up a day or more later: legitimate double shifts stay under 24 h
        (f.is_open and n.next_down_at is null) or (not f.is_open and f.trip_hours >= 24) as is_unaccounted,
        f.kind || '-' || f.mine_code || '-' || strftime(f.down_at, '%Y%m%d') as candidate_id
    from flagged_trips as f
    inner join card_trips as n
        on n.mine_code = f.mine_code and n.card_code = f.card_code and n.down_at = f.down_at
),

-- crews that came up together mid-shift: trips that ended early (an hour or more underground but under
-- three quarters of the mine's median trip), chained while each came up within 30 minutes of the last
trip_medians as (
    select mine_code, median(trip_hours) as median_hours
    from trips
    where not is_open and trip_hours >= 2
    group by mine_code
),

early_trips as (
    select
        t.mine_code,
        t.card_code,
        t.down_at,
        t.up_at,
        t.trip_hours,
        t._file_id,
        t._record,
        lag(t.up_at) over (partition by t.mine_code order by t.up_at, t.card_code) as prev_up_at
    from trips as t
    inner join trip_medians as m on m.mine_code = t.mine_code
    where not t.is_open and t.trip_hours >= 1 and t.trip_hours < 0.75 * m.median_hours
),

early_runs as (
    select
        *,
        sum(case when prev_up_at >= up_at - interval 30 minute then 0 else 1 end) over (
            partition by mine_code order by up_at, card_code rows unbounded preceding
        ) as run
    from early_trips
),

crew_runs as (
    select
        mine_code,
        run,
        'crew_exit-' || mine_code || '-' || strftime(min(up_at), '%Y%m%d%H%M') as candidate_id
    from early_runs
    group by mine_code, run
    having count(distinct card_code) >= 2
),

crew_trips as (
    select r.candidate_id, e.*
    from early_runs as e
    inner join crew_runs as r on r.mine_code = e.mine_code and r.run = e.run
),

-- every trip behind a trip or crew candidate, and where it ends (up, or as far as the data goes)
candidate_trips as (
    select candidate_id, mine_code, card_code, down_at, trip_end, is_open, _file_id, _record from flagged
    union all
    select candidate_id, mine_code, card_code, down_at, up_at, false, _file_id, _record from crew_trips
),

candidate_cards as (
    select distinct mine_code, card_code from candidate_trips
),

card_stays as (
    select p.mine_code, p.card_code, p.area_code, p.entered_at, coalesce(p.left_at, $as_of_end) as stay_end
    from presence as p
    inner join candidate_cards as c on c.mine_code = p.mine_code and c.card_code = p.card_code
),

-- where each card stopped: the last area seen for a trip that never came up, the area of the longest
-- stay for one that came up late or early (its last area is the shaft on the way out), and when it left
trip_stays as (
    select
        f.candidate_id,
        f.card_code,
        s.area_code,
        s.entered_at,
        least(s.stay_end, f.trip_end) as left_at,
        row_number() over (
            partition by f.candidate_id, f.card_code, f.down_at
            order by
                case when f.is_open then s.entered_at end desc nulls last,
                least(s.stay_end, f.trip_end) - s.entered_at desc,
                s.entered_at desc
        ) as rn
    from candidate_trips as f
    inner join card_stays as s
        on s.mine_code = f.mine_code
        and s.card_code = f.card_code
        and s.entered_at >= f.down_at
        and s.entered_at < f.trip_end
),

trip_stops as (
    select candidate_id, card_code, area_code as stop_area_code, entered_at as stopped_at, left_at as left_stop_at
    from trip_stays
    where rn = 1
),

trip_stop_areas as (
    select
        candidate_id,
        stop_area_code,
        row_number() over (partition by candidate_id order by count(*) desc, stop_area_code) as rn
    from trip_stops
    group by candidate_id, stop_area_code
),

trip_lineage as (
    select
        candidate_id,
        _file_id,
        _record,
        row_number() over (partition by candidate_id order by down_at, card_code) as rn
    from candidate_trips
),

trip_headers as (
    select
        f.candidate_id,
        any_value(f.kind) as kind,
        f.mine_code,
        -- the latest moment a card was seen settling where it stopped; the trip start when nothing was seen
        max(coalesce(s.stopped_at, f.down_at)) as event_at,
        cast(null as varchar) as meter_code,
        min(f.down_at) as first_down_at,
        max(date_diff('second', f.down_at, f.trip_end) / 3600.0) as max_trip_hours
    from flagged as f
    left join trip_stops as s on s.candidate_id = f.candidate_id and s.card_code = f.card_code
    group by f.candidate_id, f.mine_code
),

trip_candidates as (
    select
        h.candidate_id,
        h.kind,
        h.mine_code,
        h.event_at,
        a.stop_area_code as area_code,
        h.meter_code,
        cast(null as varchar) as meter_face_code,
        h.first_down_at,
        h.max_trip_hours,
        l._file_id,
        l._record
    from trip_headers as h
    left join trip_stop_areas as a on a.candidate_id = h.candidate_id and a.rn = 1
    left join trip_lineage as l on l.candidate_id = h.candidate_id and l.rn = 1
),

trip_members as (
    select
        candidate_id,
        mine_code,
        card_code,
        bool_or(is_unaccounted) as is_unaccounted,
        bool_or(is_open and next_down_at is not null) as is_seen_again
    from flagged
    group by candidate_id, mine_code, card_code
),

mine_last_day as (
    select mine_code, max(day) as last_day from power group by mine_code
),

-- face meters by hour: one pass over the 15-minute readings serves the days, the stop moments and the ratios
meter_hours as (
    select
        mine_code,
        meter_code,
        face_code,
        date_trunc('hour', interval_end - interval 15 minute) as hour_start,
        sum(kwh) as kwh
    from power
    where face_code is not null
    group by all
),

meter_days as (
    select mine_code, meter_code, face_code, cast(hour_start as date) as day, sum(kwh) as kwh
    from meter_hours
    group by all
),

meter_grid as (
    select
        m.mine_code,
        m.meter_code,
        m.face_code,
        cast(unnest(generate_series(m.first_day, l.last_day, interval 1 day)) as date) as day
    from (
        select mine_code, meter_code, face_code, min(day) as first_day from meter_days group by all
    ) as m
    inner join mine_last_day as l on l.mine_code = m.mine_code
),

day_kwh as (
    select g.mine_code, g.meter_code, g.face_code, g.day, coalesce(d.kwh, 0) as kwh
    from meter_grid as g
    left join meter_days as d
        on d.mine_code = g.mine_code and d.meter_code = g.meter_code and d.day = g.day
),

trailing_days as (
    select
        d.mine_code,
        d.meter_code,
        d.face_code,
        d.day,
        d.kwh,
        p.day as prev_day,
        p.kwh as prev_kwh,
        median(p.kwh) over (partition by d.mine_code, d.meter_code, d.day) as median_7d
    from day_kwh as d
    inner join day_kwh as p
        on p.mine_code = d.mine_code and p.meter_code = d.meter_code and p.day >= d.day - 7 and p.day < d.day
),

-- the first day below 20 % of the trailing median, after a week in which at least 5 days reached half of it
stop_days as (
    select mine_code, meter_code, face_code, day, any_value(median_7d) as median_7d
    from trailing_days
    group by mine_code, meter_code, face_code, day
    having
        count(*) = 7
        and any_value(median_7d) > 0
        and any_value(kwh) < 0.2 * any_value(median_7d)
        and count(*) filter (where prev_kwh >= 0.5 * median_7d) >= 5
        and max(prev_kwh) filter (where prev_day = day - 1) >= 0.2 * any_value(median_7d)
),

-- the few stopped meters' readings, filtered before the range join so it stays small
-- the stop's moment: the end of the last hour still at a fifth of the usual rate, from the day before
stop_moments as (
    select
        s.mine_code,
        s.meter_code,
        s.face_code,
        s.day,
        coalesce(max(h.hour_start) + interval 1 hour, cast(s.day as timestamp)) as event_at
    from stop_days as s
    left join meter_hours as h
        on h.mine_code = s.mine_code
        and h.meter_code = s.meter_code
        and h.hour_start >= cast(s.day - 1 as timestamp)
        and h.hour_start < cast(s.day + 1 as timestamp)
        and h.kwh >= 0.2 * s.median_7d / 24
    group by s.mine_code, s.meter_code, s.face_code, s.day
),

-- when the crew left its workplace: the first of its cards to leave the area where most of them stopped
crew_left as (
    select s.candidate_id, min(s.left_stop_at) as left_at
    from trip_stops as s
    inner join trip_stop_areas as a
        on a.candidate_id = s.candidate_id and a.stop_area_code = s.stop_area_code and a.rn = 1
    group by s.candidate_id
),

crew_candidates as (
    select
        c.candidate_id,
        'crew_exit' as kind,
        any_value(c.mine_code) as mine_code,
        -- when the crew left its workplace; the first card up when no stay was seen
        coalesce(any_value(l.left_at), min(c.up_at)) as event_at,
        any_value(a.stop_area_code) as area_code,
        cast(null as varchar) as meter_code,
        cast(null as varchar) as meter_face_code,
        min(c.down_at) as first_down_at,
        max(c.trip_hours) as max_trip_hours,
        any_value(g._file_id) as _file_id,
        any_value(g._record) as _record
    from crew_trips as c
    left join crew_left as l on l.candidate_id = c.candidate_id
    left join trip_stop_areas as a on a.candidate_id = c.candidate_id and a.rn = 1
    left join trip_lineage as g on g.candidate_id = c.candidate_id and g.rn = 1
    group by c.candidate_id
),

-- days until each crew card went down again (up to the cut-off when it has not): the hurt stay off work
crew_next as (
    select
        c.candidate_id,
        c.mine_code,
        c.card_code,
        date_diff('minute', c.up_at, coalesce(min(t.down_at), $as_of_end)) / 1440.0 as days_off
    from crew_trips as c
    left join trips as t on t.mine_code = c.mine_code and t.card_code = c.card_code and t.down_at > c.up_at
    group by c.candidate_id, c.mine_code, c.card_code, c.up_at
),

crew_members as (
    select candidate_id, mine_code, card_code, false as is_unaccounted, false as is_seen_again
    from crew_next
),

crew_absence as (
    select candidate_id, count(*) filter (where days_off >= 7) as n_cards_off_7d, max(days_off) as max_days_off
    from crew_next
    group by candidate_id
),

face_areas as (
    select mine_code, face_code, min(area_code) as area_code from workfaces group by mine_code, face_code
),

face_candidates as (
    select
        'face_stop-' || m.mine_code || '-' || m.meter_code || '-' || strftime(m.day, '%Y%m%d') as candidate_id,
        'face_stop' as kind,
        m.mine_code,
        m.event_at,
        f.area_code,
        m.meter_code,
        m.face_code as meter_face_code,
        cast(null as timestamp) as first_down_at,
        cast(null as double) as max_trip_hours,
        cast(null as bigint) as _file_id,
        cast(null as bigint) as _record
    from stop_moments as m
    left join face_areas as f on f.mine_code = m.mine_code and f.face_code = m.face_code
),

-- stays that began the day of the stop or the day before, to find who was at the face when it stopped
face_stay_keys as (
    select candidate_id, mine_code, area_code, event_at, cast(event_at as date) as day from face_candidates
    union all
    select candidate_id, mine_code, area_code, event_at, cast(event_at as date) - 1 as day from face_candidates
),

face_area_stays as (
    select p.mine_code, p.card_code, p.area_code, p.entered_at, p.left_at, cast(p.entered_at as date) as day
    from presence as p
    inner join (select distinct mine_code, area_code from face_candidates) as f
        on f.mine_code = p.mine_code and f.area_code = p.area_code
),

face_present as (
    select distinct k.candidate_id, k.mine_code, p.card_code, k.event_at
    from face_stay_keys as k
    inner join face_area_stays as p
        on p.mine_code = k.mine_code and p.area_code = k.area_code and p.day = k.day
    where p.entered_at <= k.event_at and coalesce(p.left_at, $as_of_end) > k.event_at - interval 30 minute
),

face_members as (
    select
        fp.candidate_id,
        fp.mine_code,
        fp.card_code,
        bool_or(coalesce(f.is_unaccounted, false)) as is_unaccounted,
        bool_or(coalesce(f.is_open and f.next_down_at is not null, false)) as is_seen_again
    from face_present as fp
    left join flagged as f
        on f.mine_code = fp.mine_code
        and f.card_code = fp.card_code
        and f.down_at <= fp.event_at
        and f.trip_end > fp.event_at
    group by fp.candidate_id, fp.mine_code, fp.card_code
),

all_candidates as (
    select * from trip_candidates
    union all
    select * from face_candidates
    union all
    select * from crew_candidates
),

-- the declared face whose area the cards stopped in, on the event day
area_faces as (
    select c.candidate_id, min(w.face_code) as face_code
    from all_candidates as c
    inner join workfaces as w
        on w.mine_code = c.mine_code
        and w.area_code = c.area_code
        and cast(c.event_at as date) >= w.declared_from
        and (w.declared_to is null or cast(c.event_at as date) <= w.declared_to)
    group by c.candidate_id
),

candidates as (
    select
        c.*,
        coalesce(c.meter_face_code, f.face_code) as face_code,
        -- gas before the stop; for trips the accident lies somewhere in the shift after the cards settled
        c.event_at - interval 6 hour as gas_from,
        case when c.kind in ('face_stop', 'crew_exit') then c.event_at else c.event_at + interval 8 hour end as gas_to,
        date_trunc('hour', c.event_at) as event_hour
    from all_candidates as c
    left join area_faces as f on f.candidate_id = c.candidate_id
),

members as (
    select * from trip_members
    union all
    select * from face_members
    union all
    select * from crew_members
),

member_stats as (
    select
        m.candidate_id,
        count(*) as n_cards,
        string_agg(m.card_code, ',' order by m.card_code) as card_codes,
        count(*) filter (where m.is_unaccounted) as n_cards_unaccounted,
        count(*) filter (where m.is_seen_again) as n_cards_seen_again,
        count(*) filter (
            where p.deregistered_on >= cast(c.event_at as date)
            and p.deregistered_on <= cast(c.event_at as date) + 10
        ) as n_deregistered_10d
    from members as m
    inner join candidates as c on c.candidate_id = m.candidate_id
    left join people as p on p.mine_code = m.mine_code and p.card_code = m.card_code
    group by m.candidate_id
),

candidate_points as (
    select c.candidate_id, c.gas_from, c.gas_to, g.mine_code, g.point_code, g.is_co, g.is_methane
    from candidates as c
    inner join gas_points as g on g.mine_code = c.mine_code and g.area_code = c.area_code
),

-- the candidate areas' gas points by hour, one pass over the statistics; the gas window is rounded
-- out to whole hours (a period counts in the hour it starts)
point_hours as (
    select
        s.mine_code,
        s.point_code,
        date_trunc('hour', s.period_start) as hour_start,
        max(s.max_value) as max_value,
        avg(s.avg_value) as avg_value
    from sensor_stats as s
    inner join (select distinct mine_code, point_code from candidate_points) as p
        on p.mine_code = s.mine_code and p.point_code = s.point_code
    group by all
),

-- the usual level: the median of the point's hourly means over the history window
point_levels as (
    select mine_code, point_code, median(avg_value) as median_value
    from point_hours
    group by mine_code, point_code
),

candidate_point_hours as (
    select
        candidate_id,
        mine_code,
        point_code,
        is_co,
        is_methane,
        unnest(generate_series(date_trunc('hour', gas_from), gas_to - interval 1 microsecond, interval 1 hour))
            as hour_start
    from candidate_points
),

candidate_point_max as (
    select cp.candidate_id, cp.mine_code, cp.point_code, cp.is_co, cp.is_methane, max(h.max_value) as max_value
    from candidate_point_hours as cp
    inner join point_hours as h
        on h.mine_code = cp.mine_code and h.point_code = cp.point_code and h.hour_start = cp.hour_start
    group by cp.candidate_id, cp.mine_code, cp.point_code, cp.is_co, cp.is_methane
),

top_co as (
    select
        m.candidate_id,
        -- a CO point flat at 0 ppm would give no ratio: floor its usual level at 1 ppm
        m.max_value / greatest(coalesce(l.median_value, 0), 1.0) as co_spike_ratio,
        row_number() over (partition by m.candidate_id order by m.max_value desc, m.point_code) as rn
    from candidate_point_max as m
    left join point_levels as l on l.mine_code = m.mine_code and l.point_code = m.point_code
    where m.is_co
),

gas as (
    select
        m.candidate_id,
        max(m.max_value) filter (where m.is_co) as max_co_before,
        max(m.max_value) filter (where m.is_methane) as max_ch4_before,
        max(c.co_spike_ratio) as co_spike_ratio
    from candidate_point_max as m
    left join top_co as c on c.candidate_id = m.candidate_id and c.rn = 1
    group by m.candidate_id
),

face_hours as (
    select mine_code, face_code, hour_start, sum(kwh) as kwh
    from meter_hours
    group by all
),

belt_hours as (
    select mine_code, date_trunc('hour', period_start) as hour_start, sum(tonnes) as tonnes
    from production
    group by all
),

-- rates per hour of the windows that lie inside the data, so a window cut by $as_of_end still compares
spans as (
    select
        candidate_id,
        mine_code,
        face_code,
        event_hour,
        date_diff('hour', greatest(event_hour - interval 7 day, $history_start), event_hour) as before_hours,
        date_diff('hour', event_hour, least(event_hour + interval 3 day, $as_of_end)) as after_hours
    from candidates
),

face_drop as (
    select
        s.candidate_id,
        sum(h.kwh) filter (where h.hour_start < s.event_hour) / nullif(s.before_hours, 0) as before_rate,
        sum(h.kwh) filter (where h.hour_start >= s.event_hour) / nullif(s.after_hours, 0) as after_rate
    from spans as s
    inner join face_hours as h
        on h.mine_code = s.mine_code
        and h.face_code = s.face_code
        and h.hour_start >= s.event_hour - interval 7 day
        and h.hour_start < s.event_hour + interval 3 day
    group by s.candidate_id, s.before_hours, s.after_hours
),

belt_drop as (
    select
        s.candidate_id,
        sum(h.tonnes) filter (where h.hour_start < s.event_hour) / nullif(s.before_hours, 0) as before_rate,
        sum(h.tonnes) filter (where h.hour_start >= s.event_hour) / nullif(s.after_hours, 0) as after_rate
    from spans as s
    inner join belt_hours as h
        on h.mine_code = s.mine_code
        and h.hour_start >= s.event_hour - interval 7 day
        and h.hour_start < s.event_hour + interval 3 day
    group by s.candidate_id, s.before_hours, s.after_hours
),

reports as (
    select distinct c.candidate_id
    from candidates as c
    inner join accident_reports as r
        on r.mine_code = c.mine_code
        and r.occurred_at >= c.event_at - interval 2 day
        and r.occurred_at <= c.event_at + interval 2 day
),

-- a stop declared for the event day or the next, for the whole mine or the same face
stops as (
    select c.candidate_id, bool_or(d.is_filed_late) as is_stop_filed_late
    from candidates as c
    inner join declarations as d
        on d.mine_code = c.mine_code
        and d.start_date <= cast(c.event_at as date) + 1
        and d.end_date >= cast(c.event_at as date)
        and (d.face_code is null or c.face_code is null or d.face_code = c.face_code)
    group by c.candidate_id
),

scored as (
    select
        c.*,
        coalesce(ms.n_cards, 0) as n_cards,
        ms.card_codes,
        coalesce(ms.n_cards_unaccounted, 0) as n_cards_unaccounted,
        coalesce(ms.n_cards_seen_again, 0) as n_cards_seen_again,
        coalesce(ms.n_deregistered_10d, 0) as n_deregistered_10d,
        coalesce(ca.n_cards_off_7d, 0) as n_cards_off_7d,
        ca.max_days_off,
        g.max_co_before,
        g.max_ch4_before,
        g.co_spike_ratio,
        fd.after_rate / nullif(fd.before_rate, 0) as face_power_drop_ratio,
        bd.after_rate / nullif(bd.before_rate, 0) as belt_drop_ratio,
        r.candidate_id is not null as has_accident_report,
        st.candidate_id is not null as has_declared_stop,
        coalesce(st.is_stop_filed_late, false) as is_stop_filed_late
    from candidates as c
    left join member_stats as ms on ms.candidate_id = c.candidate_id
    left join gas as g on g.candidate_id = c.candidate_id
    left join face_drop as fd on fd.candidate_id = c.candidate_id
    left join belt_drop as bd on bd.candidate_id = c.candidate_id
    left join reports as r on r.candidate_id = c.candidate_id
    left join stops as st on st.candidate_id = c.candidate_id
    left join crew_absence as ca on ca.candidate_id = c.candidate_id
),

final as (
    select
        cast(candidate_id as varchar) as candidate_id,
        cast(mine_code as varchar) as mine_code,
        cast(kind as varchar) as kind,
        cast(event_at as timestamp) as event_at,
        cast(event_at >= $window_start as boolean) as is_in_window,
        cast(area_code as varchar) as area_code,
        cast(face_code as varchar) as face_code,
        cast(meter_code as varchar) as meter_code,
        cast(first_down_at as timestamp) as first_down_at,
        cast(max_trip_hours as double) as max_trip_hours,
        cast(n_cards as integer) as n_cards,
        cast(card_codes as varchar) as card_codes,
        cast(n_cards_unaccounted as integer) as n_cards_unaccounted,
        cast(n_cards_seen_again as integer) as n_cards_seen_again,
        cast(n_deregistered_10d as integer) as n_deregistered_10d,
        cast(n_cards_off_7d as integer) as n_cards_off_7d,
        cast(max_days_off as double) as max_days_off,
        cast(max_co_before as double) as max_co_before,
        cast(max_ch4_before as double) as max_ch4_before,
        cast(co_spike_ratio as double) as co_spike_ratio,
        cast(face_power_drop_ratio as double) as face_power_drop_ratio,
        cast(belt_drop_ratio as double) as belt_drop_ratio,
        cast(has_accident_report as boolean) as has_accident_report,
        cast(has_declared_stop as boolean) as has_declared_stop,
        cast(is_stop_filed_late as boolean) as is_stop_filed_late,
        -- one point per red flag; thresholds: CO at the AQ 1029 alarm level (24 ppm) or ten times its
        -- usual level, CH4 at the alarm level (1.0 %), a face at a fifth of its power, the belt halved,
        -- a crew card off work for a week or more after coming up mid-shift
        cast(
            (n_cards_unaccounted > 0)::integer
            + (n_cards_off_7d > 0)::integer
            + (n_deregistered_10d > 0)::integer
            + coalesce(max_co_before >= 24 or co_spike_ratio >= 10, false)::integer
            + coalesce(max_ch4_before >= 1.0, false)::integer
            + coalesce(face_power_drop_ratio < 0.2, false)::integer
            + coalesce(belt_drop_ratio < 0.5, false)::integer
            + is_stop_filed_late::integer
            + (not has_accident_report)::integer
            as integer
        ) as suspicion_points,
        cast(_file_id as bigint) as _file_id,
        cast(_record as bigint) as _record
    from scored
    where event_at >= $history_start and event_at < $as_of_end
)

select * from final
