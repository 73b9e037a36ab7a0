-- one row per mine at $as_of: trailing-window features of the four risk families, against own history and peers
with mines as (
    select * from stg_mines
),

balance as (
    select * from production_balance
),

shifts as (
    select * from shift_presence
),

alarms as (
    select * from alarm_handling
),

points as (
    select * from sensor_behaviour
),

candidates as (
    select * from incident_candidates
),

declarations as (
    select * from stg_declarations
),

reports as (
    select * from stg_accident_reports
),

output as (
    select
        mine_code,
        count(*) filter (where is_in_window and (belt_tonnes > 0 or total_kwh > 0)) as n_window_days,
        sum(belt_tonnes) filter (where is_in_window) as w_belt,
        sum(reported_tonnes) filter (where is_in_window) as w_reported,
        sum(belt_tonnes) filter (where is_in_window and reported_tonnes is not null) as w_belt_reported_days,
        sum(implied_tonnes) filter (where is_in_window) as w_implied,
        sum(production_kwh) filter (where is_in_window) as w_prod_kwh,
        sum(production_kwh) filter (where not is_in_window) as h_prod_kwh,
        sum(belt_tonnes) filter (where not is_in_window) as h_belt,
        sum(face_kwh + heading_kwh) filter (where is_in_window) as w_face_kwh,
        sum(face_kwh + heading_kwh) filter (where not is_in_window) as h_face_kwh,
        sum(hoist_kwh) filter (where is_in_window) as w_hoist_kwh,
        sum(hoist_kwh) filter (where not is_in_window) as h_hoist_kwh,
        sum(drainage_kwh + other_kwh) filter (where is_in_window) as w_quiet_kwh,
        sum(drainage_kwh + other_kwh) filter (where not is_in_window) as h_quiet_kwh,
        sum(total_kwh) filter (where is_in_window) as w_total_kwh,
        sum(total_kwh) filter (where not is_in_window) as h_total_kwh,
        count(*) filter (where not is_in_window and (belt_tonnes > 0 or total_kwh > 0)) as n_history_days,
        corr(drainage_kwh + other_kwh, hoist_kwh) filter (where is_in_window) as w_quiet_hoist_corr,
        avg(production_kwh) filter (where is_in_window and is_declared_stop) as w_stop_prod_kwh,
        avg(production_kwh) filter (where is_in_window and not is_declared_stop and not is_declared_holiday)
            as w_work_prod_kwh,
        avg(night_hoist_ratio) filter (where is_in_window and is_declared_stop) as w_stop_night_hoist,
        count(*) filter (where is_in_window and is_declared_stop) as n_stop_days,
        avg(hoist_share_ratio) filter (where is_in_window) as w_hoist_share,
        avg(hoist_share_ratio) filter (where not is_in_window) as h_hoist_share,
        max(kwh_per_tonne_history) as kwh_per_tonne_history
    from balance
    group by all
),

months as (
    -- regulators' rule: a calendar month's raw-coal output above 110 % of capacity / 12
    select mine_code, date_trunc('month', day) as month, sum(belt_tonnes) as belt, sum(implied_tonnes) as implied,
        count(*) as n_days
    from balance
    group by all
),

month_max as (
    select
        m.mine_code,
        max(m.belt / (s.approved_capacity_tpy / 12.0) * (30.0 / m.n_days)) as max_month_belt_ratio,
        max(m.implied / (s.approved_capacity_tpy / 12.0) * (30.0 / m.n_days)) as max_month_implied_ratio
    from months as m
    inner join mines as s using (mine_code)
    where m.n_days >= 7
    group by all
),

people as (
    select
        mine_code,
        max(headcount_ratio) filter (where is_in_window) as w_peak_headcount_ratio,
        avg(cast(is_over_headcount as integer)) filter (where is_in_window) as w_over_headcount_share,
        max(max_area_over_ratio) filter (where is_in_window) as w_max_area_over_ratio,
        sum(people_hours_total) filter (where is_in_window) as w_ph_total,
        sum(people_hours_total) filter (where not is_in_window) as h_ph_total,
        sum(people_hours_undeclared_work) filter (where is_in_window) as w_ph_undeclared,
        sum(people_hours_undeclared_work) filter (where not is_in_window) as h_ph_undeclared,
        sum(people_hours_restricted) filter (where is_in_window) as w_ph_restricted,
        avg(n_idle_cards) filter (where is_in_window) as w_idle_cards,
        avg(n_idle_cards) filter (where not is_in_window) as h_idle_cards
    from shifts
    group by all
),

stop_people as (
    select
        s.mine_code,
        avg(s.people_hours_total) filter (where b.is_declared_stop) as stop_ph,
        avg(s.people_hours_total) filter (where not b.is_declared_stop and not b.is_declared_holiday) as work_ph
    from shifts as s
    inner join balance as b on b.mine_code = s.mine_code and b.day = cast(s.shift_start as date)
    where s.is_in_window
    group by all
),

alarm_stats as (
    select
        mine_code,
        count(*) filter (where is_in_window) as w_alarms,
        count(*) filter (where not is_in_window) as h_alarms,
        avg(cast(is_cut_missing as integer)) filter (where is_in_window and needs_cut and not is_calibration_near)
            as cut_missing_share,
        avg(cast(is_feed_contradicts as integer)) filter (
            where is_in_window and needs_cut and not is_calibration_near and seconds_to_cut is not null
        ) as feed_contradicts_share,
        avg(cast(is_people_stayed as integer)) filter (where is_in_window and needs_cut and people_at_start > 0)
            as people_stayed_share,
        avg(cast(is_gas_high_after_close as integer)) filter (where is_in_window and not is_calibration_near)
            as gas_after_close_share,
        avg(cast(measure_reuse_count >= 3 as integer)) filter (where is_in_window) as measure_reuse_share,
        median(entry_delay_minutes) filter (where is_in_window) as entry_delay_minutes,
        median(seconds_to_cut) filter (where is_in_window and needs_cut) as seconds_to_cut
    from alarms
    group by all
),

point_stats as (
    select
        mine_code,
        avg(cast(corr_with_face_power < 0.1 as integer)) filter (where is_face_point and corr_with_face_power is not null)
            as decoupled_face_share,
        max(share_near_threshold) as max_near_threshold_share,
        max(longest_flat_hours) filter (where is_face_point) as max_face_flat_hours,
        max(pause_hours) as max_pause_hours,
        max(ceiling_runs) as max_ceiling_runs,
        avg(share_calibration_while_producing) filter (where calibration_periods + pause_periods > 0)
            as calibration_while_producing_share,
        count(*) filter (where is_face_point and level_ratio_vs_history < 0.5) as n_face_level_drops
    from points
    group by all
),

-- a crew that came up mid-shift is an incident candidate only when one of its cards then stayed off work
-- a week; otherwise it is the breakdown look-alike, kept for the report but not counted here
incident_stats as (
    select
        mine_code,
        count(*) filter (where is_in_window and kind = 'open_trip' and not has_accident_report) as n_open_trip,
        count(*) filter (where is_in_window and kind = 'late_trip' and not has_accident_report) as n_late_trip,
        max(suspicion_points) filter (where is_in_window and not has_accident_report and is_incident) as max_suspicion,
        count(*) filter (
            where is_in_window and not has_accident_report and n_deregistered_10d > 0 and kind <> 'crew_exit'
        ) as n_unreported_dereg,
        sum(n_deregistered_10d) filter (where is_in_window and not has_accident_report and kind <> 'crew_exit')
            as n_cards_dereg,
        sum(n_cards_unaccounted) filter (where is_in_window and not has_accident_report) as n_cards_unaccounted,
        count(*) filter (
            where is_in_window and kind = 'face_stop' and not has_accident_report
            and (not has_declared_stop or is_stop_filed_late)
        ) as n_face_stop_unexplained,
        max(co_spike_ratio) filter (where is_in_window and not has_accident_report and is_incident)
            as max_co_spike_ratio,
        -- a concealed death stays concealed: the same evidence over two windows, so it does not drop out
        -- of the list once the event is a window old while the cover-up (roster, declarations) goes on
        sum(n_cards_unaccounted) filter (
            where event_at >= $as_of_end - to_days(2 * $window_days) and not has_accident_report
        ) as n_cards_unaccounted_lookback,
        max(suspicion_points) filter (
            where event_at >= $as_of_end - to_days(2 * $window_days) and not has_accident_report and is_incident
        ) as max_suspicion_lookback,
        sum(n_cards_off_7d) filter (
            where kind = 'crew_exit' and event_at >= $as_of_end - to_days(2 * $window_days) and not has_accident_report
        ) as n_crew_cards_off_lookback,
        -- how long the longest of them has stayed off so far: leave lasts one to three weeks, a hurt worker
        -- stays off for weeks to months; counted up to the as-of date, so it grows while the card stays away
        max(max_days_off) filter (
            where kind = 'crew_exit' and n_cards_off_7d > 0 and event_at >= $as_of_end - to_days(2 * $window_days)
                and not has_accident_report
        ) as max_crew_days_off_lookback
    from (select *, kind <> 'crew_exit' or n_cards_off_7d > 0 as is_incident from candidates)
    group by all
),

late_filings as (
    select mine_code, count(*) as n_late_filed_stops
    from declarations
    where is_filed_late and start_date >= cast($window_start as date)
    group by all
),

reported as (
    select mine_code, count(*) as n_reported_accidents
    from reports
    where occurred_at >= $window_start
    group by all
),

joined as (
    select
        m.mine_code,
        m.mine_name,
        m.province,
        m.group_name,
        m.size_band,
        m.gas_class,
        m.approved_capacity_tpy,
        m.approved_headcount,
        coalesce(o.n_window_days, 0) as n_window_days,
        o.w_belt / (m.approved_capacity_tpy / 12.0) * (30.0 / $window_days) as op_belt_capacity_ratio,
        o.w_implied / (m.approved_capacity_tpy / 12.0) * (30.0 / $window_days) as op_implied_capacity_ratio,
        mm.max_month_belt_ratio as op_max_month_capacity_ratio,
        o.w_belt_reported_days / nullif(o.w_reported, 0) as op_belt_report_ratio,
        o.w_implied / nullif(o.w_belt, 0) as op_implied_belt_ratio,
        o.w_prod_kwh / nullif(o.w_belt, 0) as op_kwh_per_tonne,
        (o.w_prod_kwh / nullif(o.w_belt, 0)) / nullif(o.h_prod_kwh / nullif(o.h_belt, 0), 0)
            as op_kwh_per_tonne_vs_history,
        p.w_peak_headcount_ratio as op_peak_headcount_ratio,
        p.w_over_headcount_share as op_over_headcount_share,
        p.w_max_area_over_ratio as op_max_area_over_ratio,
        o.w_stop_prod_kwh / nullif(o.w_work_prod_kwh, 0) as op_stop_day_power_ratio,
        sp.stop_ph / nullif(sp.work_ph, 0) as op_stop_day_people_ratio,
        o.w_stop_night_hoist as op_stop_night_hoist_ratio,
        o.w_hoist_share / nullif(o.h_hoist_share, 0) as op_hoist_share_vs_history,
        p.w_ph_undeclared / nullif(p.w_ph_total, 0) as hw_undeclared_work_share,
        (p.w_ph_undeclared / nullif(p.w_ph_total, 0)) / nullif(p.h_ph_undeclared / nullif(p.h_ph_total, 0), 0)
            as hw_undeclared_work_vs_history,
        p.w_ph_restricted / nullif(p.w_ph_total, 0) as hw_restricted_hours_share,
        p.w_idle_cards as hw_idle_cards_per_shift,
        (p.w_idle_cards + 0.5) / (coalesce(p.h_idle_cards, 0) + 0.5) as hw_idle_cards_vs_history,
        (o.w_belt / nullif(o.w_face_kwh, 0)) / nullif(o.h_belt / nullif(o.h_face_kwh, 0), 0)
            as hw_output_per_face_kwh_vs_history,
        (o.w_hoist_kwh / nullif(o.w_face_kwh, 0)) / nullif(o.h_hoist_kwh / nullif(o.h_face_kwh, 0), 0)
            as hw_hoist_per_face_kwh_vs_history,
        (o.w_quiet_kwh / nullif(o.w_total_kwh, 0)) / nullif(o.h_quiet_kwh / nullif(o.h_total_kwh, 0), 0)
            as hw_quiet_circuit_share_vs_history,
        o.w_quiet_hoist_corr as hw_quiet_circuit_hoist_corr,
        coalesce(a.w_alarms, 0) as af_n_alarms,
        (coalesce(a.w_alarms, 0) / $window_days + 0.05)
            / (coalesce(a.h_alarms, 0) / nullif(o.n_history_days, 0) + 0.05) as af_alarm_rate_vs_history,
        a.cut_missing_share as af_cut_missing_share,
        a.feed_contradicts_share as af_feed_contradicts_share,
        a.people_stayed_share as af_people_stayed_share,
        a.gas_after_close_share as af_gas_high_after_close_share,
        a.measure_reuse_share as af_measure_reuse_share,
        a.entry_delay_minutes as af_entry_delay_minutes,
        a.seconds_to_cut as af_seconds_to_cut,
        ps.decoupled_face_share as af_decoupled_face_point_share,
        ps.max_near_threshold_share as af_max_near_threshold_share,
        coalesce(ps.max_face_flat_hours, 0) as af_max_face_flat_hours,
        coalesce(ps.max_pause_hours, 0) as af_max_pause_hours,
        coalesce(ps.max_ceiling_runs, 0) as af_max_ceiling_runs,
        ps.calibration_while_producing_share as af_calibration_while_producing_share,
        coalesce(ps.n_face_level_drops, 0) as af_n_face_level_drops,
        coalesce(i.n_open_trip, 0) as ca_n_open_trip_events,
        coalesce(i.n_late_trip, 0) as ca_n_late_trip_events,
        coalesce(i.max_suspicion, 0) as ca_max_suspicion_points,
        coalesce(i.n_unreported_dereg, 0) as ca_n_events_with_deregistration,
        coalesce(i.n_cards_dereg, 0) as ca_n_cards_deregistered,
        coalesce(i.n_cards_unaccounted, 0) as ca_n_cards_unaccounted,
        coalesce(i.n_cards_unaccounted_lookback, 0) as ca_n_cards_unaccounted_lookback,
        coalesce(i.max_suspicion_lookback, 0) as ca_max_suspicion_lookback,
        coalesce(i.n_face_stop_unexplained, 0) as ca_n_unexplained_face_stops,
        coalesce(i.n_crew_cards_off_lookback, 0) as ca_n_crew_cards_off_lookback,
        coalesce(i.max_crew_days_off_lookback, 0) as ca_max_crew_days_off_lookback,
        i.max_co_spike_ratio as ca_max_co_spike_ratio,
        coalesce(l.n_late_filed_stops, 0) as ca_n_late_filed_stops,
        coalesce(r.n_reported_accidents, 0) as ca_n_reported_accidents
    from mines as m
    left join output as o using (mine_code)
    left join month_max as mm using (mine_code)
    left join people as p using (mine_code)
    left join stop_people as sp using (mine_code)
    left join alarm_stats as a using (mine_code)
    left join point_stats as ps using (mine_code)
    left join incident_stats as i using (mine_code)
    left join late_filings as l using (mine_code)
    left join reported as r using (mine_code)
),

-- robust z-scores against peers of the same size band: (x - median) / (1.4826 MAD)
peer_medians as (
    select
        size_band,
        median(op_kwh_per_tonne) as kwh_med,
        median(hw_undeclared_work_share) as undeclared_med,
        median(op_belt_capacity_ratio) as belt_med
    from joined
    group by all
),

peer_mads as (
    select
        j.size_band,
        median(abs(j.op_kwh_per_tonne - pm.kwh_med)) as kwh_mad,
        median(abs(j.hw_undeclared_work_share - pm.undeclared_med)) as undeclared_mad,
        median(abs(j.op_belt_capacity_ratio - pm.belt_med)) as belt_mad
    from joined as j
    inner join peer_medians as pm using (size_band)
    group by all
),

final as (
    select
        cast($as_of as date) as as_of,
        cast(j.mine_code as varchar) as mine_code,
        cast(j.mine_name as varchar) as mine_name,
        cast(j.province as varchar) as province,
        cast(j.group_name as varchar) as group_name,
        cast(j.size_band as varchar) as size_band,
        cast(j.gas_class as varchar) as gas_class,
        cast(j.approved_capacity_tpy as double) as approved_capacity_tpy,
        cast(j.approved_headcount as integer) as approved_headcount,
        cast(j.n_window_days as integer) as n_window_days,
        cast(j.op_belt_capacity_ratio as double) as op_belt_capacity_ratio,
        cast(j.op_implied_capacity_ratio as double) as op_implied_capacity_ratio,
        cast(j.op_max_month_capacity_ratio as double) as op_max_month_capacity_ratio,
        cast(j.op_belt_report_ratio as double) as op_belt_report_ratio,
        cast(j.op_implied_belt_ratio as double) as op_implied_belt_ratio,
        cast(j.op_kwh_per_tonne as double) as op_kwh_per_tonne,
        cast(j.op_kwh_per_tonne_vs_history as double) as op_kwh_per_tonne_vs_history,
        cast((j.op_kwh_per_tonne - pm.kwh_med) / nullif(1.4826 * pd.kwh_mad, 0) as double) as op_kwh_per_tonne_peer_z,
        cast((j.op_belt_capacity_ratio - pm.belt_med) / nullif(1.4826 * pd.belt_mad, 0) as double)
            as op_belt_capacity_peer_z,
        cast(j.op_peak_headcount_ratio as double) as op_peak_headcount_ratio,
        cast(j.op_over_headcount_share as double) as op_over_headcount_share,
        cast(j.op_max_area_over_ratio as double) as op_max_area_over_ratio,
        cast(j.op_stop_day_power_ratio as double) as op_stop_day_power_ratio,
        cast(j.op_stop_day_people_ratio as double) as op_stop_day_people_ratio,
        cast(j.op_stop_night_hoist_ratio as double) as op_stop_night_hoist_ratio,
        cast(j.op_hoist_share_vs_history as double) as op_hoist_share_vs_history,
        cast(j.hw_undeclared_work_share as double) as hw_undeclared_work_share,
        cast((j.hw_undeclared_work_share - pm.undeclared_med) / nullif(1.4826 * pd.undeclared_mad, 0) as double)
            as hw_undeclared_work_peer_z,
        cast(j.hw_undeclared_work_vs_history as double) as hw_undeclared_work_vs_history,
        cast(j.hw_restricted_hours_share as double) as hw_restricted_hours_share,
        cast(j.hw_idle_cards_per_shift as double) as hw_idle_cards_per_shift,
        cast(j.hw_idle_cards_vs_history as double) as hw_idle_cards_vs_history,
        cast(j.hw_output_per_face_kwh_vs_history as double) as hw_output_per_face_kwh_vs_history,
        cast(j.hw_hoist_per_face_kwh_vs_history as double) as hw_hoist_per_face_kwh_vs_history,
        cast(j.hw_quiet_circuit_share_vs_history as double) as hw_quiet_circuit_share_vs_history,
        cast(j.hw_quiet_circuit_hoist_corr as double) as hw_quiet_circuit_hoist_corr,
        cast(j.af_n_alarms as integer) as af_n_alarms,
        cast(j.af_alarm_rate_vs_history as double) as af_alarm_rate_vs_history,
        cast(j.af_cut_missing_share as double) as af_cut_missing_share,
        cast(j.af_feed_contradicts_share as double) as af_feed_contradicts_share,
        cast(j.af_people_stayed_share as double) as af_people_stayed_share,
        cast(j.af_gas_high_after_close_share as double) as af_gas_high_after_close_share,
        cast(j.af_measure_reuse_share as double) as af_measure_reuse_share,
        cast(j.af_entry_delay_minutes as double) as af_entry_delay_minutes,
        cast(j.af_seconds_to_cut as double) as af_seconds_to_cut,
        cast(j.af_decoupled_face_point_share as double) as af_decoupled_face_point_share,
        cast(j.af_max_near_threshold_share as double) as af_max_near_threshold_share,
        cast(j.af_max_face_flat_hours as double) as af_max_face_flat_hours,
        cast(j.af_max_pause_hours as double) as af_max_pause_hours,
        cast(j.af_max_ceiling_runs as integer) as af_max_ceiling_runs,
        cast(j.af_calibration_while_producing_share as double) as af_calibration_while_producing_share,
        cast(j.af_n_face_level_drops as integer) as af_n_face_level_drops,
        cast(j.ca_n_open_trip_events as integer) as ca_n_open_trip_events,
        cast(j.ca_n_late_trip_events as integer) as ca_n_late_trip_events,
        cast(j.ca_max_suspicion_points as integer) as ca_max_suspicion_points,
        cast(j.ca_n_events_with_deregistration as integer) as ca_n_events_with_deregistration,
        cast(j.ca_n_cards_deregistered as integer) as ca_n_cards_deregistered,
        cast(j.ca_n_cards_unaccounted as integer) as ca_n_cards_unaccounted,
        cast(j.ca_n_cards_unaccounted_lookback as integer) as ca_n_cards_unaccounted_lookback,
        cast(j.ca_max_suspicion_lookback as integer) as ca_max_suspicion_lookback,
        cast(j.ca_n_unexplained_face_stops as integer) as ca_n_unexplained_face_stops,
        cast(j.ca_n_crew_cards_off_lookback as integer) as ca_n_crew_cards_off_lookback,
        cast(j.ca_max_crew_days_off_lookback as double) as ca_max_crew_days_off_lookback,
        cast(j.ca_max_co_spike_ratio as double) as ca_max_co_spike_ratio,
        cast(j.ca_n_late_filed_stops as integer) as ca_n_late_filed_stops,
        cast(j.ca_n_reported_accidents as integer) as ca_n_reported_accidents
    from joined as j
    left join peer_medians as pm using (size_band)
    left join peer_mads as pd using (size_band)
)

select * from final
