-- one row per positioning area
with source as (
    select * from areas
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(area_code as varchar) as area_code,
        cast(area_name as varchar) as area_name,
        cast(area_type as varchar) as area_type,
        cast(approved_headcount as integer) as approved_headcount
    from source
)

select * from final
