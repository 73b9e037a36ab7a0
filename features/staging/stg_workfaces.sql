-- one row per declared face known at $as_of
with source as (
    select * from workfaces
    where declared_from <= $as_of
),

final as (
    select
        cast(mine_code as varchar) as mine_code,
        cast(face_code as varchar) as face_code,
        cast(face_name as varchar) as face_name,
        cast(face_type as varchar) as face_type,
        cast(area_code as varchar) as area_code,
        cast(declared_from as date) as declared_from,
        cast(declared_to as date) as declared_to
    from source
)

select * from final
