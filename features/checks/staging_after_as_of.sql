-- one row per staged source holding a record at or after $as_of_end (a point-in-time leak)
select 'stg_production' as source, count(*) as n_rows from stg_production where period_end > $as_of_end
having count(*) > 0
union all
select 'stg_power', count(*) from stg_power where interval_end > $as_of_end having count(*) > 0
union all
select 'stg_alarms', count(*) from stg_alarms
where started_at >= $as_of_end or ended_at >= $as_of_end or entered_at >= $as_of_end having count(*) > 0
union all
select 'stg_shaft_trips', count(*) from stg_shaft_trips
where down_at >= $as_of_end or up_at >= $as_of_end having count(*) > 0
union all
select 'stg_presence', count(*) from stg_presence
where entered_at >= $as_of_end or left_at >= $as_of_end having count(*) > 0
union all
select 'stg_people', count(*) from stg_people
where registered_on > $as_of or deregistered_on > $as_of having count(*) > 0
union all
select 'stg_declarations', count(*) from stg_declarations where declared_at >= $as_of_end having count(*) > 0
union all
select 'stg_accident_reports', count(*) from stg_accident_reports where reported_at >= $as_of_end
having count(*) > 0
