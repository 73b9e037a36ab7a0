-- one row per mine, as registered (latest load wins)
with source as (
    select * from mines
),

ranked as (
    select
        *,
        row_number() over (partition by mine_code order by _file_id desc, _record desc) as rn
    from source
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(mine_name as varchar) as mine_name,
        cast(province as varchar) as province,
        cast(city as varchar) as city,
        cast(county as varchar) as county,
        cast(group_name as varchar) as group_name,
        cast(approved_capacity_tpy as double) as approved_capacity_tpy,
        cast(approved_headcount as integer) as approved_headcount,
        cast(coalesce(gas_class, 'low') as varchar) as gas_class,
        cast(
            case
                when approved_capacity_tpy < 600000 then 'small'
                when approved_capacity_tpy < 1500000 then 'medium'
                else 'large'
            end as varchar
        ) as size_band
    from ranked
    where rn = 1
)

select * from final
