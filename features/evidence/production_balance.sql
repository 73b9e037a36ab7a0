-- one row per mine and day from $history_start to $as_of: belt scale, reports, power by circuit, power-implied output
with mines as (
    select mine_code, approved_capacity_tpy from stg_mines
),

days as (
    select m.mine_code, m.approved_capacity_tpy, cast(g.d as date) as day
    from mines as m
    cross join generate_series(cast($history_start as date), $as_of, interval 1 day) as g (d)
),

belt as (
    select mine_code, cast(period_start as date) as day, sum(tonnes) as belt_tonnes
    from stg_production
    group by all
),

reports as (
    select mine_code, day, sum(reported_tonnes) as reported_tonnes
    from stg_production_reports
    group by all
),

power as (
    select
        mine_code,
        day,
        sum(kwh) as total_kwh,
        sum(kwh) filter (where circuit = 'hoist') as hoist_kwh,
        sum(kwh) filter (where circuit = 'ventilation') as ventilation_kwh,
        sum(kwh) filter (where circuit = 'drainage') as drainage_kwh,
        sum(kwh) filter (where circuit = 'transport') as transport_kwh,
        sum(kwh) filter (where circuit = 'face') as face_kwh,
        sum(kwh) filter (where circuit = 'heading') as heading_kwh,
        sum(kwh) filter (where circuit = 'other') as other_kwh,
        -- 以电核产: production follows hoist, transport and face/heading power
        sum(kwh) filter (where circuit in ('hoist', 'transport', 'face', 'heading')) as production_kwh,
        sum(kwh) filter (where circuit = 'hoist' and hour < 6) as night_hoist_kwh,
        count(distinct hour) filter (where circuit in ('face', 'heading') and kwh > 0) as n_face_power_hours
    from stg_power
    group by all
),

stops as (
    select
        d.mine_code,
        d.day,
        bool_or(s.kind in ('maintenance', 'shutdown')) as is_declared_stop,
        bool_or(s.kind = 'holiday') as is_declared_holiday,
        bool_or(s.is_filed_late) as is_stop_filed_late
    from days as d
    inner join stg_declarations as s
        on s.mine_code = d.mine_code and d.day between s.start_date and s.end_date and s.face_code is null
    group by all
),

joined as (
    select
        d.mine_code,
        d.day,
        d.approved_capacity_tpy,
        b.belt_tonnes,
        r.reported_tonnes,
        p.total_kwh,
        p.hoist_kwh,
        p.ventilation_kwh,
        p.drainage_kwh,
        p.transport_kwh,
        p.face_kwh,
        p.heading_kwh,
        p.other_kwh,
        p.production_kwh,
        p.night_hoist_kwh,
        p.n_face_power_hours,
        coalesce(s.is_declared_stop, false) as is_declared_stop,
        coalesce(s.is_declared_holiday, false) as is_declared_holiday,
        coalesce(s.is_stop_filed_late, false) as is_stop_filed_late,
        d.day >= cast($window_start as date) as is_in_window
    from days as d
    left join belt as b on b.mine_code = d.mine_code and b.day = d.day
    left join reports as r on r.mine_code = d.mine_code and r.day = d.day
    left join power as p on p.mine_code = d.mine_code and p.day = d.day
    left join stops as s on s.mine_code = d.mine_code and s.day = d.day
),

-- the mine's own power-to-output line, fitted on its ordinary producing days before the window
-- (all earlier days when the history holds fewer than 14 of them)
fit_days as (
    select
        *,
        count(*) filter (where not is_in_window) over (partition by mine_code) as n_history_days
    from joined
    where belt_tonnes > 0 and production_kwh > 0 and not is_declared_stop and not is_declared_holiday
),

fit as (
    select
        mine_code,
        regr_slope(production_kwh, belt_tonnes) as kwh_per_tonne_marginal,
        regr_intercept(production_kwh, belt_tonnes) as kwh_base,
        median(production_kwh / belt_tonnes) as kwh_per_tonne_history
    from fit_days
    where not is_in_window or n_history_days < 14
    group by all
),

final as (
    select
        cast(j.mine_code as varchar) as mine_code,
        cast(j.day as date) as day,
        cast(j.is_in_window as boolean) as is_in_window,
        cast(coalesce(j.belt_tonnes, 0) as double) as belt_tonnes,
        cast(j.reported_tonnes as double) as reported_tonnes,
        cast(j.reported_tonnes is null as boolean) as is_report_missing,
        cast(coalesce(j.total_kwh, 0) as double) as total_kwh,
        cast(coalesce(j.hoist_kwh, 0) as double) as hoist_kwh,
        cast(coalesce(j.ventilation_kwh, 0) as double) as ventilation_kwh,
        cast(coalesce(j.drainage_kwh, 0) as double) as drainage_kwh,
        cast(coalesce(j.transport_kwh, 0) as double) as transport_kwh,
        cast(coalesce(j.face_kwh, 0) as double) as face_kwh,
        cast(coalesce(j.heading_kwh, 0) as double) as heading_kwh,
        cast(coalesce(j.other_kwh, 0) as double) as other_kwh,
        cast(coalesce(j.production_kwh, 0) as double) as production_kwh,
        cast(j.night_hoist_kwh / nullif(j.hoist_kwh, 0) as double) as night_hoist_ratio,
        cast(j.hoist_kwh / nullif(j.total_kwh, 0) as double) as hoist_share_ratio,
        cast(coalesce(j.n_face_power_hours, 0) as integer) as n_face_power_hours,
        cast(f.kwh_per_tonne_history as double) as kwh_per_tonne_history,
        cast(
            case
                when f.kwh_per_tonne_marginal > 0
                    then greatest((coalesce(j.production_kwh, 0) - greatest(f.kwh_base, 0)) / f.kwh_per_tonne_marginal, 0)
                when f.kwh_per_tonne_history > 0 then coalesce(j.production_kwh, 0) / f.kwh_per_tonne_history
            end as double
        ) as implied_tonnes,
        cast(coalesce(j.belt_tonnes, 0) / nullif(j.approved_capacity_tpy / 365.0, 0) as double) as capacity_share_ratio,
        cast(j.is_declared_stop as boolean) as is_declared_stop,
        cast(j.is_declared_holiday as boolean) as is_declared_holiday,
        cast(j.is_stop_filed_late as boolean) as is_stop_filed_late
    from joined as j
    left join fit as f on f.mine_code = j.mine_code
)

select * from final
