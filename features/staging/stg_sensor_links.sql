-- one row per analog point and the relay (1009) or feed sensor (1011) it is linked to by a D link, read both ways
with links as (
    select mine_code, point_code as a, linked_point_code as b from sensor_links where relation = 'D'
    union
    select mine_code, linked_point_code as a, point_code as b from sensor_links where relation = 'D'
),

sensors as (
    select mine_code, point_code, sensor_type, value_type from stg_sensors
),

final as (
    select distinct
        cast(l.mine_code as varchar) as mine_code,
        cast(l.a as varchar) as point_code,
        cast(l.b as varchar) as linked_point_code,
        cast(s_b.sensor_type as varchar) as linked_sensor_type
    from links as l
    inner join sensors as s_a on s_a.mine_code = l.mine_code and s_a.point_code = l.a
    inner join sensors as s_b on s_b.mine_code = l.mine_code and s_b.point_code = l.b
    where s_a.value_type = 'MN' and s_b.sensor_type in ('1009', '1011')
)

select * from final
